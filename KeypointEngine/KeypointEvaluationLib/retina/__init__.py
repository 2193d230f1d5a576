"""Retinal evaluation: the FIRE Registration Score, the FIRE folder reader, the synthetic FIRE-like benchmark, camera
motions and appearance/modality changes made from real photographs."""
