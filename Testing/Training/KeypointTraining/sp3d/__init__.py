"""Training of SP3DNet (3D keypoints): synthetic shapes with known corners (stage 1, SP3D-pt), then real volumes with
pseudo-labels (stage 2)."""
