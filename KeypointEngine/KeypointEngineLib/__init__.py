"""KeypointEngine: the shared PyTorch inference engine of SlicerKeypoints.

Knows nothing of Slicer or MRML: it takes numpy arrays (indexed [k, j, i] like slicer.util) plus a 4x4 IJK->RAS
matrix, and returns results in the same convention. Import the submodules you need (device, jobs, registry, tiling,
requirements); this package imports nothing heavy itself, so Slicer can check dependencies before torch exists.
"""
