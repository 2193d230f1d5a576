"""Retinal registration's names, defaults and valid ranges, defined once for the engine, the GUI, the logic and the
CLI. Imports nothing heavy, so Slicer's module panel and the CLI's parser can use it before torch is installed."""

from __future__ import annotations

from dataclasses import dataclass

TRANSFORM_MODELS = ("auto", "similarity", "affine", "projective", "quadratic")  # the first is the default
FEATURE_BACKENDS = ("auto", "sift", "learned")  # the first is the default (see README)
# "auto": SIFT first, as the most precise within one modality; the learned backend where SIFT's result is not
# confident, as across modalities, where SIFT fails (SIFT was confident on none of the failed benchmark pairs)
AUTO_BACKENDS = ("sift", "learned")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Range:
    """A numeric parameter: its default and the closed interval it must lie in."""

    name: str
    default: float
    minimum: float
    maximum: float
    unit: str = ""
    advice: str = ""

    def check(self, value: float) -> float:
        """`value` when it lies in the range; otherwise a ValueError that says what to use."""
        if not self.minimum <= value <= self.maximum:  # NaN fails too
            unit = f" {self.unit}" if self.unit else ""
            raise ValueError(f"The {self.name} must lie between {self.minimum:g} and {self.maximum:g}{unit}, not "
                             f"{value:g}.{' ' + self.advice if self.advice else ''}")
        return value


FIELD_OF_VIEW = Range("field of view", 45.0, 10.0, 60.0, "degrees",
                      "45 for most fundus cameras (FIRE, DRIVE), 30 for some (CHASE_DB1); ultra-widefield images "
                      "over 60 degrees are not supported.")
WORKING_SIZE = Range("working size", 768, 256, 4096, "px", "768 suits 45-degree photographs.")
RATIO_TEST = Range("ratio test", 0.9, 0.5, 1.0, "", "1 disables it; 0.9 is the default.")
