"""KeypointSeg's engine: KAF-UNet cardiac MRI segmentation (paper 003), slice preparation, inference on a volume,
clinical measurements and the quality flag."""
