"""The shared MRML layer of SlicerKeypoints: nodes <-> numpy arrays + 4x4 IJK->RAS geometry, files <-> nodes.

Runs inside Slicer and on the `slicer-core` wheel alike (no slicer.app, no Qt). It owns every conversion between
IJK, RAS and LPS; the engine below it sees only arrays and matrices.
"""
