"""Retinal image registration: preprocessing, feature backends, the registration pipeline, sample pairs."""
