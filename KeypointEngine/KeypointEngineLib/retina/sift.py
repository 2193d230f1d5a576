"""The classical feature backend: OpenCV SIFT with RootSIFT descriptors, inside the field-of-view mask."""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.features import Features


class SiftExtractor:
    """`extract(image, mask) -> Features` at the image's own pixel scale."""

    name = "sift"
    device = "CPU (OpenCV SIFT)"

    def __init__(self, max_keypoints: int = 4000, contrast_threshold: float = 0.01):
        self.max_keypoints = max_keypoints
        self.contrast_threshold = contrast_threshold

    def extract(self, image: np.ndarray, mask: np.ndarray | None = None) -> Features:
        sift = cv2.SIFT_create(nfeatures=self.max_keypoints, contrastThreshold=self.contrast_threshold)
        if mask is not None:  # keep away from the bright rim of the field of view, which moves with the camera
            mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
        keypoints, descriptors = sift.detectAndCompute(image, mask)
        if descriptors is None or not keypoints:
            return Features.empty(2, 128)
        # RootSIFT (Arandjelović & Zisserman 2012): L1-normalise, square-root -> Hellinger distance, unit L2 norm
        descriptors = np.sqrt(descriptors / np.maximum(descriptors.sum(axis=1, keepdims=True), 1e-7))
        points = np.array([keypoint.pt for keypoint in keypoints], dtype=np.float32)
        scores = np.array([keypoint.response for keypoint in keypoints], dtype=np.float32)
        return Features(points, scores, descriptors.astype(np.float32))
