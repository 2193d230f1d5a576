"""KeypointEngine: the shared PyTorch engine of SlicerKeypoints. Knows nothing of Slicer, MRML or VTK.

Contract: images and volumes come in as numpy arrays indexed [k, j, i] (2D images: [rows, cols(, channels)]),
keypoints are (x, y[, z]) = (i, j[, k]) continuous indices, 0-based, voxel centres at integers; where a result must
be placed in space, the caller gives each array's 4x4 IJK->RAS matrix and the engine works in RAS mm (geometry.py
converts, without VTK). The MRML layer (KeypointMRMLLib) turns nodes into arrays plus matrices and back.

What is here: features (2D/3D) -> matching -> fitting (2D px models, 3D mm models) -> the registration step and its
report (registration.py); network blocks shared by the modules' networks (blocks/); device choice; the model
registry with checksums; the backend pool; jobs (progress, cancel, prepare -> work -> apply); tiled inference;
dependency lists; and retina/, the retinal preprocessing, backends and pipeline. Evaluation lives above it
(KeypointEvaluationLib), training outside the shipped code (Testing/Training).

This package imports nothing heavy itself, so Slicer can check dependencies before torch exists.
"""
