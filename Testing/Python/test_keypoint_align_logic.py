"""KeypointAlignLogic on real slicer-core nodes: a real fundus photograph, re-photographed under a known warp."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointAlignLib.logic import KeypointAlignLogic
from KeypointAlignLib.samples import add_sample_pair, sample_retina_path
from KeypointEngineLib.geometry import ijk_to_ras_matrix, ras_from_ijk
from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEvaluationLib.retina.synthetic import make_pair
from KeypointMRMLLib.images2d import SLICER_2D_IJK_TO_RAS, read_image_2d
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.storage import load_node, save_node
from KeypointMRMLLib.transforms import FROM_PARENT, TO_PARENT, transform_points
from KeypointMRMLLib.volumes import array_from_volume, volume_from_array

RETINA = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()  # 706 px: quick, still a real photograph


def _pixels_to_ras(pixels, ijk_to_ras):
    return ras_from_ijk(np.c_[pixels, np.zeros(len(pixels))], ijk_to_ras)


def _pair(seed=0, curvature=0.0, tilt=0.02):
    return make_pair(RETINA, seed, curvature=curvature, tilt=tilt)


def _add(scene, pair, fixed_geometry=SLICER_2D_IJK_TO_RAS, moving_geometry=SLICER_2D_IJK_TO_RAS):
    return (volume_from_array(scene, pair.fixed[None], fixed_geometry, "fixed"),
            volume_from_array(scene, pair.moving[None], moving_geometry, "moving"))


def test_projective_result_is_a_grid_transform_that_maps_moving_onto_fixed_after_reload(tmp_path):
    scene, pair = make_scene(), _pair(seed=1)
    # anisotropic, shifted pixel geometry on both images: conversions must go through each image's own IJK->RAS
    fixed_geometry = ijk_to_ras_matrix([0.02, 0.025, 1.0], [5.0, -3.0, 0.0], np.diag([-1.0, -1.0, 1.0]))
    moving_geometry = ijk_to_ras_matrix([0.015, 0.015, 1.0], [-2.0, 7.0, 0.0], np.diag([-1.0, -1.0, 1.0]))
    fixed, moving = _add(scene, pair, fixed_geometry, moving_geometry)
    result = KeypointAlignLogic().register(fixed, moving, model="projective")
    assert result.report.success and result.report.model == "projective"
    assert result.transformNode.IsA("vtkMRMLGridTransformNode")

    reloaded = load_node(make_scene(), save_node(result.transformNode, tmp_path / "t.h5"), "vtkMRMLGridTransformNode")
    moving_points = pair.grid_points(5)
    fixed_points = pair.warp.moving_to_fixed(moving_points)
    # from-parent (resampling) direction: a fixed point goes to where it is in the moving image
    mapped = transform_points(reloaded, _pixels_to_ras(fixed_points, fixed_geometry), FROM_PARENT)
    errors_px = np.linalg.norm(mapped - _pixels_to_ras(moving_points, moving_geometry), axis=1) / 0.015
    assert np.median(errors_px) < 1.0


def test_affine_result_is_a_linear_transform_that_aligns_moving_onto_fixed():
    scene, pair = make_scene(), _pair(seed=2, tilt=0.0)
    fixed, moving = _add(scene, pair)
    result = KeypointAlignLogic().register(fixed, moving, model="affine")
    assert result.transformNode.IsA("vtkMRMLLinearTransformNode")
    moving_points = pair.grid_points(5)
    mapped = transform_points(result.transformNode, _pixels_to_ras(moving_points, SLICER_2D_IJK_TO_RAS), TO_PARENT)
    truth = _pixels_to_ras(pair.warp.moving_to_fixed(moving_points), SLICER_2D_IJK_TO_RAS)
    assert np.median(np.linalg.norm(mapped - truth, axis=1)) < 1.0


def test_auto_chooses_the_quadratic_model_where_the_eye_curves_the_image_and_adds_fiducials():
    scene = make_scene()
    fixed, moving, pair = add_sample_pair(scene)  # its warp has a second-order (curvature) term
    result = KeypointAlignLogic().register(fixed, moving)
    assert result.report.model == "quadratic" and result.report.confident
    assert pair.mean_error_px(result.registration.model) < 1.0
    projective = KeypointAlignLogic().register(fixed, moving, model="projective", createInlierFiducials=False)
    assert pair.mean_error_px(result.registration.model) < pair.mean_error_px(projective.registration.model)
    fixed_points, moving_points = result.fiducialNodes
    assert fixed_points.GetNumberOfControlPoints() == result.report.inliers
    assert moving_points.GetTransformNodeID() == result.transformNode.GetID()


def test_auto_keeps_the_homography_for_a_pure_camera_tilt():
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=6, curvature=0.0, tilt=0.05))
    assert KeypointAlignLogic().register(fixed, moving).report.model == "projective"


def test_resampled_volume_is_the_moving_image_on_the_fixed_grid():
    scene, pair = make_scene(), _pair(seed=7)
    fixed_geometry = ijk_to_ras_matrix([0.02, 0.02, 1.0], [1.0, 2.0, 0.0], np.diag([-1.0, -1.0, 1.0]))
    fixed, moving = _add(scene, pair, fixed_geometry=fixed_geometry)
    result = KeypointAlignLogic().register(fixed, moving, model="projective", createResampledVolume=True)
    resampled = array_from_volume(result.resampledVolume)
    assert result.resampledVolume.IsA("vtkMRMLVectorVolumeNode")
    np.testing.assert_allclose(resampled.ijk_to_ras, fixed_geometry)
    inside = resampled.array[0].max(axis=2) > 0
    difference = np.abs(resampled.array[0].astype(float) - pair.fixed.astype(float)).mean(axis=2)[inside]
    assert np.median(difference) < np.median(np.abs(pair.moving.astype(float) - pair.fixed.astype(float)))


def test_same_image_twice_gives_identity():
    scene = make_scene()
    fixed = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "a")
    moving = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "b")
    result = KeypointAlignLogic().register(fixed, moving, model="similarity")
    np.testing.assert_allclose(result.registration.model.forward, np.eye(3), atol=2e-3)


def test_grayscale_moving_with_rgb_fixed_registers():
    scene, pair = make_scene(), _pair(seed=3)
    fixed = volume_from_array(scene, pair.fixed[None], SLICER_2D_IJK_TO_RAS, "rgb")
    moving = volume_from_array(scene, pair.moving[None, ..., 1].copy(), SLICER_2D_IJK_TO_RAS, "green only")
    result = KeypointAlignLogic().register(fixed, moving, model="projective")
    assert result.report.success and pair.mean_error_px(result.registration.model) < 1.5


@pytest.mark.parametrize("model", ["auto", "similarity", "quadratic"])
def test_images_that_do_not_overlap_report_failure(model):
    scene = make_scene()
    left = volume_from_array(scene, RETINA[150:550, :350][None].copy(), SLICER_2D_IJK_TO_RAS, "left half")
    right = volume_from_array(scene, RETINA[150:550, 356:][None].copy(), SLICER_2D_IJK_TO_RAS, "right half")
    before = scene.GetNumberOfNodes()
    result = KeypointAlignLogic().register(left, right, model=model)
    assert not result.report.success and "may not overlap" in result.report.message
    assert scene.GetNumberOfNodes() == before


def test_unrelated_images_report_failure_and_leave_the_scene_unchanged():
    scene = make_scene()
    noise = np.random.default_rng(0).integers(0, 255, RETINA.shape[:2], dtype=np.uint8)
    fixed = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "retina")
    moving = volume_from_array(scene, noise[None], SLICER_2D_IJK_TO_RAS, "noise")
    before = scene.GetNumberOfNodes()
    result = KeypointAlignLogic().register(fixed, moving, model="projective")
    assert not result.report.success and result.transformNode is None
    assert "Registration failed" in result.report.summary()
    assert scene.GetNumberOfNodes() == before


@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 80, 80), np.uint8), "3D volume with 3 slices"),
    (np.full((1, 80, 80), 7, np.uint8), "blank"),
    (np.random.default_rng(0).integers(0, 255, (1, 20, 20), dtype=np.uint8), "too small"),
])
def test_bad_inputs_give_clear_errors(array, message):
    scene = make_scene()
    fixed = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "retina")
    bad = volume_from_array(scene, array, SLICER_2D_IJK_TO_RAS, "bad")
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match=message):
        KeypointAlignLogic().register(fixed, bad)
    assert scene.GetNumberOfNodes() == before


def test_cancelled_run_leaves_the_scene_as_it_was():
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=4))
    before = scene.GetNumberOfNodes()
    token = CancelToken()

    def cancel_when_matching(stage, fraction):
        if stage == "Matching":
            token.cancel()

    with pytest.raises(JobCancelled):
        KeypointAlignLogic().register(fixed, moving, job=Job(progress=cancel_when_matching, cancel_token=token))
    assert scene.GetNumberOfNodes() == before


def test_every_named_backend_is_in_the_engine_pool():
    from KeypointEngineLib.retina.backends import RETINA_BACKENDS
    from KeypointEngineLib.retina.parameters import AUTO_BACKENDS, FEATURE_BACKENDS

    assert set(FEATURE_BACKENDS) == {"auto", *RETINA_BACKENDS.names} and set(AUTO_BACKENDS) <= set(FEATURE_BACKENDS)


def test_gui_cli_and_logic_share_names_defaults_and_ranges():
    """The .ui's choices and spin box ranges, the CLI's choices and defaults: those of retina/parameters.py."""
    import xml.etree.ElementTree as ElementTree

    from conftest import REPO

    from KeypointCLI.main import build_parser
    from KeypointEngineLib.retina.parameters import (
        FEATURE_BACKENDS,
        FIELD_OF_VIEW,
        RATIO_TEST,
        TRANSFORM_MODELS,
        UNKNOWN_FIELD_OF_VIEW,
        WORKING_SIZE,
        known_field_of_view,
    )

    widgets = {widget.get("name"): widget for widget in ElementTree.parse(
        REPO / "KeypointAlign" / "Resources" / "UI" / "KeypointAlign.ui").iter("widget")}

    def items(name):
        return tuple(item.find("property/string").text for item in widgets[name].findall("item"))

    def number(name, prop):
        return float(widgets[name].find(f"property[@name='{prop}']")[0].text)

    assert items("modelComboBox") == TRANSFORM_MODELS and items("featuresComboBox") == FEATURE_BACKENDS
    for name, parameter in (("workingSizeSpinBox", WORKING_SIZE), ("ratioTestSpinBox", RATIO_TEST)):
        assert (number(name, "minimum"), number(name, "maximum"), number(name, "value")) == (
            parameter.minimum, parameter.maximum, parameter.default), name
    for name in ("fixedFieldOfViewSpinBox", "movingFieldOfViewSpinBox"):  # "unknown" below the range, by default
        assert (number(name, "minimum"), number(name, "maximum"), number(name, "value")) == (
            UNKNOWN_FIELD_OF_VIEW, FIELD_OF_VIEW.maximum, UNKNOWN_FIELD_OF_VIEW), name
        assert widgets[name].find("property[@name='specialValueText']/string").text == "unknown"
        assert UNKNOWN_FIELD_OF_VIEW < FIELD_OF_VIEW.minimum and known_field_of_view(UNKNOWN_FIELD_OF_VIEW) is None
    align = next(action for action in build_parser()._actions if action.dest == "command").choices["align"]
    options = {action.dest: action for action in align._actions}
    assert tuple(options["model"].choices) == TRANSFORM_MODELS
    assert all(options[name].default is None for name in ("fov", "fixed_fov", "moving_fov"))  # unknown: searched


@pytest.mark.parametrize("option, value, message", [
    ("fieldOfViewDegrees", 0.0, "field of view must lie between 10 and 60"),
    ("movingFieldOfViewDegrees", 100.0, "over 60 degrees are not supported"),  # ultra-widefield
    ("workingSize", 100, "working size must lie between 256 and 4096"),
    ("ratioTest", float("nan"), "ratio test must lie between"),
])
def test_options_out_of_range_are_refused_before_any_work(option, value, message):
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=4))
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match=message):
        KeypointAlignLogic().registrationTask(fixed, moving, **{option: value})
    assert scene.GetNumberOfNodes() == before


def test_images_of_different_sizes_and_aspect_ratios_register():
    scene = make_scene()
    pair = _pair(seed=8)
    wide = pair.moving[60:-60, :]  # moving is a crop: another size and aspect ratio; shift the truth accordingly
    fixed = volume_from_array(scene, pair.fixed[None], SLICER_2D_IJK_TO_RAS, "fixed")
    moving = volume_from_array(scene, wide[None], SLICER_2D_IJK_TO_RAS, "moving crop")
    result = KeypointAlignLogic().register(fixed, moving, model="quadratic")
    points = pair.grid_points(5)[4:-4]  # central points lie inside the crop
    estimated = result.registration.model.moving_to_fixed(points - [0, 60])
    assert np.median(np.linalg.norm(estimated - pair.warp.moving_to_fixed(points), axis=1)) < 1.5


def test_a_linear_output_node_refuses_a_model_that_may_be_non_linear_before_any_work():
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=4))
    linear = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "mine")
    before = scene.GetNumberOfNodes()
    for model in ("auto", "projective", "quadratic"):
        with pytest.raises(ValueError, match="can hold only a similarity or affine result"):
            KeypointAlignLogic().registrationTask(fixed, moving, model=model, outputTransform=linear)
    assert scene.GetNumberOfNodes() == before


def test_a_chosen_grid_node_takes_any_result_and_new_runs_make_new_nodes():
    scene, pair = make_scene(), _pair(seed=2, tilt=0.0)
    fixed, moving = _add(scene, pair)
    grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "mine")
    result = KeypointAlignLogic().register(fixed, moving, model="affine", outputTransform=grid,
                                           createInlierFiducials=False)
    assert result.transformNode is grid
    moving_points = pair.grid_points(5)
    mapped = transform_points(grid, _pixels_to_ras(moving_points, SLICER_2D_IJK_TO_RAS), TO_PARENT)
    truth = _pixels_to_ras(pair.warp.moving_to_fixed(moving_points), SLICER_2D_IJK_TO_RAS)
    assert np.median(np.linalg.norm(mapped - truth, axis=1)) < 1.0
    first, second = (KeypointAlignLogic().register(fixed, moving, model="affine", createInlierFiducials=False)
                     for _ in range(2))
    assert first.transformNode is not second.transformNode and second.transformNode is not grid


def test_outputs_live_where_the_fixed_image_lives_and_a_moving_image_under_a_transform_is_refused():
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=1))
    parent = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "fixed placement")
    fixed.SetAndObserveTransformNodeID(parent.GetID())
    result = KeypointAlignLogic().register(fixed, moving, model="projective", createResampledVolume=True)
    assert result.transformNode.GetTransformNodeID() == parent.GetID()
    assert result.fiducialNodes[0].GetTransformNodeID() == parent.GetID()
    assert result.fiducialNodes[1].GetTransformNodeID() == result.transformNode.GetID()
    assert result.resampledVolume.GetTransformNodeID() == parent.GetID()

    moving.SetAndObserveTransformNodeID(parent.GetID())
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="is under the transform 'fixed placement'.*harden it"):
        KeypointAlignLogic().register(fixed, moving)
    assert scene.GetNumberOfNodes() == before


def test_a_cancel_at_any_progress_step_of_a_registration_adds_nothing():
    """Every (stage, fraction) a registration reports, the last ('Fitting the transform', 1.0) included."""
    scene = make_scene()
    fixed, moving = _add(scene, _pair(seed=4))
    steps = []
    KeypointAlignLogic().register(fixed, moving, features="sift", createInlierFiducials=False,
                                  job=Job(progress=lambda stage, fraction: steps.append((stage, fraction))))
    assert steps[-1] == ("Fitting the transform", 1.0) and len(steps) >= 6
    before = scene.GetNumberOfNodes()
    for step in dict.fromkeys(steps):
        token = CancelToken()

        def cancel_at(stage, fraction, step=step, token=token):
            if (stage, fraction) == step:
                token.cancel()

        with pytest.raises(JobCancelled):
            KeypointAlignLogic().register(fixed, moving, features="sift",
                                          job=Job(progress=cancel_at, cancel_token=token))
        assert scene.GetNumberOfNodes() == before, step
