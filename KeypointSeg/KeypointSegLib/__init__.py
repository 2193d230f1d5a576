"""KeypointSeg's MRML layer: cardiac short-axis MRI volume nodes in, KAF-UNet segmentation by the engine,
segmentation, markups and table nodes out."""
