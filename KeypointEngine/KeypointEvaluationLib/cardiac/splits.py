"""The fixed validation split of the 73 ACDC patients in ../shared/data: 13 whole patients stratified by ACDC group
(3 DCM, 3 HCM, 3 MINF, 2 NOR, 2 ARV; drawn once with random.Random(2026) among the patients present). No training run
sees them; the shipped models train on the other 60 and `bench segment` evaluates on these."""

VALIDATION_PATIENTS = ("patient003", "patient009", "patient014",  # DCM
                       "patient023", "patient034", "patient036",  # HCM
                       "patient048", "patient055", "patient057",  # MINF
                       "patient079", "patient080",  # NOR
                       "patient095", "patient097")  # ARV
