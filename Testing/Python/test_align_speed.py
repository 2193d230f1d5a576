"""The pieces of `bench align-speed` that its figures rest on: a fresh process's own peak memory (not this one's),
and a baseline that registers."""

from __future__ import annotations

import sys

import cv2
import numpy as np

from KeypointAlignLib.bench_speed import _child, upsampled
from KeypointAlignLib.samples import sample_retina_path
from KeypointEvaluationLib.retina.sift_magsac import sift_magsac
from KeypointMRMLLib.images2d import read_image_2d


def test_a_child_process_is_measured_by_its_own_peak_memory():
    ballast = np.ones(300 * 2 ** 20, np.uint8)  # this process holds 300 MiB more than a small child needs
    small = _child([sys.executable, "-c", "pass"])
    large = _child([sys.executable, "-c", "import numpy; a = numpy.ones(400 * 2 ** 20, numpy.uint8)"])
    assert small["rss_gib"] < 0.1 < 0.35 < large["rss_gib"] < 0.6
    assert small["seconds"] > 0 and ballast.sum() > 0


def test_the_sift_magsac_baseline_recovers_a_known_homography_on_a_real_photograph():
    image = read_image_2d(sample_retina_path()).array[0]
    image = upsampled(image, 800, image.shape)
    truth = np.array([[1.02, 0.05, -12.0], [-0.04, 0.99, 9.0], [2e-5, -1e-5, 1.0]])
    moving = cv2.warpPerspective(image, np.linalg.inv(truth), image.shape[1::-1])  # moving px -> fixed by truth
    homography, inliers = sift_magsac(image, moving)
    assert homography is not None and inliers > 30
    corners = np.array([[200.0, 200.0], [600.0, 200.0], [400.0, 500.0]])
    mapped = cv2.perspectiveTransform(corners[None], homography)[0]
    assert np.abs(mapped - cv2.perspectiveTransform(corners[None], truth)[0]).max() < 2.0
