"""Where an image shows retina: the field-of-view mask that registration keeps to, and the field's diameter.

Real images arrive exported from viewers and figures: white, black or coloured frames, burned-in dates, timers and
logos, rescaled and recompressed. Background here is what is flat (a frame, a digital border) or dark and nearly flat
(a camera's border), and reaches the image's edge through such regions. The retina is the largest region of the rest
after an opening that cuts away text strokes, thin lines and the ringing of recompression along a frame's edge; its
holes are filled. Nothing assumes a circular aperture: a square scanning-laser field, a disc clipped by the sensor or
a notched aperture come out as they are. The work is done at about 512 px and brought back.
"""

from __future__ import annotations

import cv2
import numpy as np

WORKING_PX = 512  # longer side at which the mask is found
WINDOW_PX = 5  # local variation is measured over this window (at WORKING_PX)
# local standard deviation (grey levels of 255) below which a pixel is flat: a digital frame or border is (JPEG leaves
# it under 0.75); real retina nearly never is (under 1 % of its pixels, even on low-contrast infrared fields)
FLAT_GREY_LEVELS = 0.75
# a camera's dark border is noisy (DRIVE's: 1-2 levels); dark retina (non-perfused angiograms) is textured beyond this
DARK_GREY_LEVELS = 2.5
OPENING = 0.035  # radius of the opening, share of the longer side: more than a stamp's height, far less than retina
CIRCLE_SCATTER = 0.02  # rim points off the fitted circle (rms, share of its radius) for the rim to count as one
MIN_RETINA = 0.02  # share of the image under which no region counts as retina (then the whole image is used)
RINGING_PX, RINGING_GREY_LEVELS = 6, 24  # how far from a frame and how close to its level its ringing lies
REGION = 0.005  # share of the image a background region needs to reach the edge across a gap


def field_of_view_mask(gray: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask, the shape of `gray` (uint8, one channel, as `preprocess.to_gray` gives it)."""
    rows, cols = gray.shape
    factor = min(1.0, WORKING_PX / max(rows, cols))
    small = cv2.resize(gray, (max(1, round(cols * factor)), max(1, round(rows * factor))),
                       interpolation=cv2.INTER_AREA) if factor < 1 else gray
    retina = _retina(small.astype(np.float32))
    if retina is None:
        return np.full_like(gray, 255)
    if factor < 1:
        retina = cv2.resize(retina, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return np.where(retina > 127, 255, 0).astype(np.uint8)


def field_diameter(mask: np.ndarray) -> float:
    """The field of view's diameter in px, which its angle in degrees spans: a circle's fitted to the rim where the
    rim is one (a disc, also one the sensor clips), the longer extent otherwise (a square scanning-laser field)."""
    mask = (np.asarray(mask) > 0).astype(np.uint8)
    _, _, width, height = cv2.boundingRect(mask)
    extent = float(max(width, height))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return extent
    rim = max(contours, key=len)[:, 0, :].astype(np.float64)
    inside = ((rim > 1) & (rim < np.array(mask.shape[::-1]) - 2)).all(axis=1)  # not where the image's edge cuts it
    if inside.sum() < max(20, 0.3 * len(rim)):  # mostly the image's edge: a field that fills the image
        return extent
    rim = rim[inside]
    # algebraic circle fit (Kasa): x^2 + y^2 = 2ax + 2by + c
    design = np.c_[2 * rim, np.ones(len(rim))]
    (a, b, c), *_ = np.linalg.lstsq(design, (rim ** 2).sum(axis=1), rcond=None)
    radius = np.sqrt(max(c + a * a + b * b, 0.0))
    scatter = np.sqrt(np.mean((np.linalg.norm(rim - [a, b], axis=1) - radius) ** 2))
    return float(max(2 * radius, extent)) if scatter < CIRCLE_SCATTER * radius else extent


def _retina(gray: np.ndarray) -> np.ndarray | None:
    mean = cv2.blur(gray, (WINDOW_PX, WINDOW_PX))
    deviation = np.sqrt(np.maximum(cv2.blur(gray * gray, (WINDOW_PX, WINDOW_PX)) - mean * mean, 0))
    frame = _with_ringing(_reaching_the_edge(deviation < FLAT_GREY_LEVELS), gray)  # first: no threshold from it
    smooth = cv2.GaussianBlur(gray, (0, 0), max(gray.shape) / 200)
    levels = smooth[~frame] if (~frame).any() else smooth.ravel()
    threshold = max(8.0, 0.5 * float(np.percentile(levels, 5)) + 0.1 * float(np.percentile(levels, 50)))
    dark = smooth <= threshold
    background = _reaching_the_edge(frame | (dark & (deviation < DARK_GREY_LEVELS)), across=dark)
    # the rim's dark side varies (it is beside the rim) and so is no background yet: the border's level decides there
    beside = cv2.dilate(background.astype(np.uint8), np.ones((WINDOW_PX, WINDOW_PX), np.uint8)) > 0
    background |= beside & (gray <= threshold)
    radius = max(1, round(OPENING * max(gray.shape)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    rest = cv2.morphologyEx((~background).astype(np.uint8), cv2.MORPH_OPEN, disc)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest)
    if count <= 1:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < MIN_RETINA * gray.size:
        return None
    contours, _ = cv2.findContours((labels == largest).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros(gray.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


def _with_ringing(frame: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """`frame` and the pixels beside it (RINGING_PX) at its level: what recompression and resampling leave along a
    frame's edge is not flat, and where the retina meets the frame (a disc the sensor clipped) no opening removes it."""
    beside = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RINGING_PX + 1,) * 2)
    highest = cv2.dilate(np.where(frame, gray, 0).astype(np.float32), beside)
    lowest = cv2.erode(np.where(frame, gray, 255).astype(np.float32), beside)
    near = cv2.dilate(frame.astype(np.uint8), beside) > 0
    return frame | (near & ((np.abs(gray - highest) < RINGING_GREY_LEVELS) | (np.abs(gray - lowest) <
                                                                               RINGING_GREY_LEVELS)))


def _reaching_the_edge(candidate: np.ndarray, across: np.ndarray | None = None) -> np.ndarray:
    """The regions of `candidate` that reach the image's edge, directly or through one another. A frame's edge against
    a camera's dark border is no candidate (it varies, and recompression rings beside it), so a large region mostly
    in `across` (the dark; REGION of the image or more) counts as touching across a gap of up to OPENING; small ones,
    as the flat blocks recompression leaves in smooth retina, and bright ones, as a uniform test disc, do not."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=8)
    reached = np.zeros(count, bool)
    reached[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    reached[0] = False
    if across is None:
        return reached[labels]
    area = stats[:, cv2.CC_STAT_AREA]
    crossing = (area >= REGION * candidate.size) & (np.bincount(labels.ravel(), across.ravel(), count) > 0.5 * area)
    crossing[0] = False
    radius = max(1, round(OPENING * max(candidate.shape)))
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    while True:
        background = reached[labels]
        near = cv2.dilate(background.astype(np.uint8), reach) > 0
        touching = np.unique(labels[near])
        touching = touching[crossing[touching] & ~reached[touching]]
        if not len(touching):
            return background
        reached[touching] = True
