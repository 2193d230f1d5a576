"""Resampling the moving image onto the fixed grid: the interpolated pixel maps stay on the model, borders included,
and the checkerboard alternates tiles."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEngineLib.fitting.models import GeometricModel
from KeypointEngineLib.retina.resampling import _pixel_maps, checkerboard

QUADRATIC = np.array([[3.0, 1.01, 0.02, 2e-5, -1e-5, 3e-5], [-4.0, -0.03, 0.98, -2e-5, 2e-5, 1e-5]])
PROJECTIVE = np.array([[1.02, 0.04, 5.0], [-0.03, 0.97, -7.0], [3e-5, -2e-5, 1.0]])


@pytest.mark.parametrize("kind, forward", [("quadratic", QUADRATIC), ("projective", PROJECTIVE)])
@pytest.mark.parametrize("shape", [(301, 457), (64, 9), (1, 1)])
def test_interpolated_maps_agree_with_the_model_at_every_pixel(kind, forward, shape):
    model = GeometricModel(kind, forward, forward)  # only fixed -> moving is used
    map_x, map_y = _pixel_maps(model, *shape)
    assert map_x.shape == map_y.shape == shape and map_x.dtype == np.float32
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    exact = model.fixed_to_moving(np.c_[x.ravel(), y.ravel()]).reshape(*shape, 2)
    assert np.abs(map_x - exact[..., 0]).max() < 0.01 and np.abs(map_y - exact[..., 1]).max() < 0.01


def test_checkerboard_alternates_square_tiles():
    first, second = np.zeros((40, 80), np.uint8), np.full((40, 80), 200, np.uint8)
    board = checkerboard(first, second, tiles=4)  # tiles of 20 px
    assert board.shape == (40, 80, 3)
    assert board[5, 5, 0] == 0 and board[5, 25, 0] == 200 and board[25, 5, 0] == 200 and board[25, 25, 0] == 0
