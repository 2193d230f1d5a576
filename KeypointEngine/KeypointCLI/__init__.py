"""`slicer-keypoints`: the command line of SlicerKeypoints (plain Python + slicer-core, no Slicer application)."""
