"""Images as viewers and figures export them: a frame (white, black, grey or a figure's tint) of uneven margins,
burned-in stamps (date, time, an angiogram's timer, eye, patient ID) on the frame and in the photograph's corners, a
logo, rescaling and JPEG recompression. One layout is one device or figure: the same stamps at the same places on
every image it exports (only a timer's reading changes), which is the dangerous case for registration, as the stamps
then agree exactly where the retina does not.

`export` returns the exported image and the map from original to exported px; `export_pair` turns a benchmark pair
into its exported version, control points and truth carried along.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from KeypointEvaluationLib.retina.pair import BenchmarkPair

FRAMES = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "tint": (236, 240, 248)}
MARGINS = (0.0, 0.25)  # of the image's size, drawn per side
SCALES = (0.5, 1.5)  # the exported size against the original
JPEG_QUALITY = (50, 95)
SAME_LAYOUT = 0.5  # chance that both images of a pair come from one device or figure


@dataclass(frozen=True)
class Stamp:
    text: str  # "{timer}" is replaced per image
    where: tuple[float, float]  # (x, y) share of the framed canvas: its corners, on the frame or the photograph
    colour: tuple[int, int, int]
    height: float  # of the canvas's height


@dataclass(frozen=True)
class Layout:
    frame: tuple[int, int, int]
    margins: tuple[float, float, float, float]  # left, top, right, bottom, of the image's width / height
    stamps: tuple[Stamp, ...]
    logo: tuple[float, float] | None  # where a logo sits, share of the canvas
    scale: float
    jpeg_quality: int


def random_layout(rng: np.random.Generator) -> Layout:
    frame = FRAMES[str(rng.choice(list(FRAMES)))]
    margins = tuple(float(rng.uniform(*MARGINS)) if rng.uniform() < 0.75 else 0.0 for _ in range(4))
    light = sum(frame) > 3 * 128
    texts = ["2019-03-14", "10:22:31", "FA {timer}", "OD", "ID 004512", "45 deg", "R"]
    stamps = tuple(
        Stamp(str(text), (float(rng.choice([rng.uniform(0.01, 0.15), rng.uniform(0.6, 0.85)])),
                          float(rng.choice([rng.uniform(0.03, 0.12), rng.uniform(0.9, 0.98)]))),
              (0, 0, 0) if light and rng.uniform() < 0.5 else tuple(int(v) for v in
                                                                     rng.choice([(255, 255, 255), (255, 255, 0),
                                                                                 (0, 255, 0)])),
              float(rng.uniform(0.02, 0.045)))
        for text in rng.choice(texts, size=int(rng.integers(2, 5)), replace=False))
    corner = (float(rng.choice([rng.uniform(0.01, 0.08), rng.uniform(0.85, 0.9)])),
              float(rng.choice([rng.uniform(0.01, 0.06), rng.uniform(0.88, 0.92)])))
    logo = corner if rng.uniform() < 0.5 else None
    return Layout(frame, margins, stamps, logo, float(rng.uniform(*SCALES)), int(rng.integers(*JPEG_QUALITY)))


def export(image: np.ndarray, layout: Layout, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exported image, offset, scale): exported px = (original px + offset + 0.5) * scale - 0.5, per axis (x, y)."""
    grey = image.ndim == 2
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if grey else image.copy()
    rows, cols = rgb.shape[:2]
    left, top, right, bottom = (round(share * size) for share, size in
                                zip(layout.margins, (cols, rows, cols, rows), strict=True))
    canvas = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=layout.frame)
    height, width = canvas.shape[:2]
    timer = f"{rng.integers(0, 10)}:{rng.integers(0, 60):02d}.{rng.integers(0, 10)}"
    for stamp in layout.stamps:
        scale = stamp.height * height / 22.0  # HERSHEY_SIMPLEX's capitals are about 22 px high at scale 1
        thickness = max(1, round(scale * 1.5))
        cv2.putText(canvas, stamp.text.format(timer=timer), (round(stamp.where[0] * width),
                                                            round(stamp.where[1] * height)),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, stamp.colour, thickness, cv2.LINE_AA)
    if layout.logo is not None:
        x, y, size = round(layout.logo[0] * width), round(layout.logo[1] * height), max(4, round(0.04 * height))
        cv2.rectangle(canvas, (x, y), (x + 2 * size, y + size), (200, 30, 30), cv2.FILLED)
        cv2.circle(canvas, (x + size // 2, y + size // 2), size // 3, (255, 255, 255), cv2.FILLED)
    size = (max(64, round(width * layout.scale)), max(64, round(height * layout.scale)))
    resized = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA if layout.scale < 1 else cv2.INTER_LINEAR)
    encoded = cv2.imencode(".jpg", resized[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, layout.jpeg_quality])[1]
    exported = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].copy()
    if grey:
        exported = cv2.cvtColor(exported, cv2.COLOR_RGB2GRAY)
    return exported, np.array([left, top], np.float64), np.array([size[0] / width, size[1] / height])


def export_pair(pair: BenchmarkPair, rng: np.random.Generator, category: str = "exported") -> BenchmarkPair:
    """Both images of `pair` exported, by one layout (same device or figure) or two; points and truth carried."""
    fixed_layout = random_layout(rng)
    moving_layout = fixed_layout if rng.uniform() < SAME_LAYOUT else random_layout(rng)
    fixed, fixed_offset, fixed_scale = export(pair.fixed, fixed_layout, rng)
    moving, moving_offset, moving_scale = export(pair.moving, moving_layout, rng)

    def to_exported(points, offset, scale):
        return (np.asarray(points, np.float64) + offset + 0.5) * scale - 0.5

    def from_exported(points, offset, scale):
        return (np.asarray(points, np.float64) + 0.5) / scale - 0.5 - offset

    truth = None
    if pair.truth is not None:
        def truth(points, inner=pair.truth):
            return to_exported(inner(from_exported(points, moving_offset, moving_scale)), fixed_offset, fixed_scale)

    # errors are measured in fixed px: the exported image's px are 1/scale of the original's
    return replace(pair, category=category, fixed=fixed, moving=moving,
                   fixed_points=to_exported(pair.fixed_points, fixed_offset, fixed_scale),
                   moving_points=to_exported(pair.moving_points, moving_offset, moving_scale),
                   fire_scale=pair.fire_scale / float(np.mean(fixed_scale)), truth=truth)
