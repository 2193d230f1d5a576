"""SP3D's benchmark: held-out CT/MRI volumes under held-out motions and real scan pairs, the metrics of the SP3D
paper (repeatability, matching score, MDBL) and the TRE of the registration, for SP3D, classical 3D detectors and
the intensity-based registration Slicer users reach for."""
