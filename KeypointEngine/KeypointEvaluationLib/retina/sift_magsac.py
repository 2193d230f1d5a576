"""The baseline a user would script with OpenCV alone: SIFT on the full-resolution grey images, Lowe's ratio test, a
homography by MAGSAC++ (cv2.USAC_MAGSAC). KeypointAlign's speed is reported against it, measured in the same run.

Run as a script for the cold figure (a fresh process that imports only OpenCV and NumPy):
    python -m KeypointEvaluationLib.retina.sift_magsac FIXED MOVING
prints the inlier count and writes nothing; exits 0 with a homography, NO_HOMOGRAPHY without one, 2 on bad
arguments (anything else is a crash).
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

RATIO = 0.8  # Lowe's
THRESHOLD_PX = 5.0  # MAGSAC's reprojection threshold at full resolution (2912-px fields)
NO_HOMOGRAPHY = 4  # exit status of a run that found none (Python's own crashes exit 1)


def sift_magsac(fixed: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(3x3 moving -> fixed homography or None, inlier count) for grey or RGB uint8 images."""
    sift = cv2.SIFT_create()
    grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image for image in (fixed, moving)]
    (fixed_keypoints, fixed_descriptors), (moving_keypoints, moving_descriptors) = (
        sift.detectAndCompute(image, None) for image in grey)
    if fixed_descriptors is None or moving_descriptors is None:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(moving_descriptors, fixed_descriptors, k=2)
    good = [pair[0] for pair in pairs if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance]
    if len(good) < 4:
        return None, 0
    source = np.float32([moving_keypoints[match.queryIdx].pt for match in good])
    target = np.float32([fixed_keypoints[match.trainIdx].pt for match in good])
    homography, inliers = cv2.findHomography(source, target, cv2.USAC_MAGSAC, THRESHOLD_PX)
    return homography, int(inliers.sum()) if inliers is not None else 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m KeypointEvaluationLib.retina.sift_magsac FIXED MOVING", file=sys.stderr)
        return 2
    images = [cv2.imread(path, cv2.IMREAD_GRAYSCALE) for path in argv]  # any depth or channels, as 8-bit grey
    if any(image is None for image in images):
        print(f"Could not read {argv}.", file=sys.stderr)
        return 2
    homography, inliers = sift_magsac(*images)
    print(f"{inliers} inliers" if homography is not None else "no homography")
    return 0 if homography is not None else NO_HOMOGRAPHY


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
