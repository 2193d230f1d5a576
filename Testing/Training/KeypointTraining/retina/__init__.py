"""Training of the learned retinal keypoint backend of KeypointAlign (paper 002 + Retinal IPA)."""
