"""Cardiac MRI data for KeypointSeg's training and benchmark: ACDC (the shared HDF5 layout and the real release),
M&Ms, and the fixed validation split."""
