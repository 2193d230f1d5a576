"""3D keypoints in CT and MRI volumes (SP3D, paper 004): the network, preprocessing to a working grid, extraction
of keypoints in RAS mm."""
