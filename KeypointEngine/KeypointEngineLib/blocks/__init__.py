"""Network blocks the modules' networks share (as MONAI's networks/blocks): keypoint attention, sampling features at
keypoints and writing back to them, and peak finding in 2D and 3D score maps."""
