"""KeypointAlign's MRML layer: volume nodes in, engine registration, transform and fiducial nodes out."""
