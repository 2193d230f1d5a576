"""SP3DDetect's MRML layer: volume nodes in, learned 3D keypoints and volume matching by the engine, markups and
transform nodes out."""
