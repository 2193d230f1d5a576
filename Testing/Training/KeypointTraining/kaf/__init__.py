"""KAF-UNet's training: short-axis slices on the working grid, augmentation, fine-tuning and self-supervised
pretraining recipes."""
