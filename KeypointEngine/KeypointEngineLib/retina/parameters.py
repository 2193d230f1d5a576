"""Retinal registration's names, defaults and valid ranges, defined once for the engine, the GUI, the logic and the
CLI. Imports nothing heavy, so Slicer's module panel and the CLI's parser can use it before torch is installed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from KeypointEngineLib.errors import InputError

TRANSFORM_MODELS = ("auto", "similarity", "affine", "projective", "quadratic")  # the first is the default
FEATURE_BACKENDS = ("auto", "sift", "learned")  # the first is the default (see README)
# "auto": SIFT first, as the most precise within one modality; the learned backend where SIFT's result is not
# confident, as across modalities, where SIFT fails (SIFT was confident on none of the failed benchmark pairs)
AUTO_BACKENDS = ("sift", "learned")


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
            raise InputError(f"The {self.name} must lie between {self.minimum:g} and {self.maximum:g}{unit}, not "
                             f"{value:g}.{' ' + self.advice if self.advice else ''}")
        return value


FIELD_OF_VIEW = Range("field of view", 45.0, 10.0, 60.0, "degrees",
                      "45 for most fundus cameras (FIRE, DRIVE), 30 for some (CHASE_DB1), 20-30 for infrared and OCT "
                      "en-face fields; leave it out when unknown. Ultra-widefield images over 60 degrees are not "
                      "supported.")
# An image's field of view may be unknown (None): it is then taken as FIELD_OF_VIEW.default, and the moving image's
# working scale against the fixed one's is searched over these factors, nearest to 1 first, until a registration is
# confident. Each image's scale is set by its own field's size in px, so the factor sought is the ratio of the two
# fields of view: 20-30° infrared / OCT en-face fields against 45° photographs need 0.44-0.67 (and the inverse the
# other way round): 2^(-5/4) to 2^(5/4), in quarter octaves
SCALE_SEARCH = tuple(sorted((2.0 ** (step / 4) for step in range(-5, 6)), key=lambda factor: abs(math.log(factor))))
WORKING_SIZE = Range("working size", 768, 256, 4096, "px", "768 suits 45-degree photographs.")
RATIO_TEST = Range("ratio test", 0.9, 0.5, 1.0, "", "1 disables it; 0.9 is the default.")


# the GUI's "unknown": its spin boxes' minimum, one step below the range, so that one step up is the range's minimum
UNKNOWN_FIELD_OF_VIEW = FIELD_OF_VIEW.minimum - 1


def known_field_of_view(degrees: float) -> float | None:
    """A GUI field of view for the logic: None for "unknown" (anything below the range)."""
    return None if degrees < FIELD_OF_VIEW.minimum else degrees


def fields_of_view(fov_degrees: float | None = None, fixed_fov_degrees: float | None = None,
                   moving_fov_degrees: float | None = None) -> tuple[float | None, float | None]:
    """(fixed, moving) fields of view in degrees, None where unknown: `fov_degrees` for both, the others for one
    image each (they win); each checked against FIELD_OF_VIEW."""
    chosen = (fov_degrees if fixed_fov_degrees is None else fixed_fov_degrees,
              fov_degrees if moving_fov_degrees is None else moving_fov_degrees)
    for value in chosen:
        if value is not None:
            FIELD_OF_VIEW.check(value)
    return chosen


def check_options(model: str = TRANSFORM_MODELS[0], features: str = FEATURE_BACKENDS[0],
                  working_size: float = WORKING_SIZE.default, fov_degrees: float | None = None,
                  ratio: float = RATIO_TEST.default, fixed_fov_degrees: float | None = None,
                  moving_fov_degrees: float | None = None) -> None:
    """An InputError that says what to use, for any option that cannot be used; checked before any work."""
    if model not in TRANSFORM_MODELS:
        raise InputError(f"Unknown transform model {model!r}: use one of {', '.join(TRANSFORM_MODELS)}.")
    if features not in FEATURE_BACKENDS:
        raise InputError(f"Unknown keypoint backend {features!r}: use one of {', '.join(FEATURE_BACKENDS)}.")
    WORKING_SIZE.check(working_size)
    fields_of_view(fov_degrees, fixed_fov_degrees, moving_fov_degrees)
    RATIO_TEST.check(ratio)
