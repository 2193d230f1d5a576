"""KAF-UNet's training: the three data layouts (shared HDF5, the real ACDC release, M&Ms) read from files written in
those layouts, the fixed validation split, training samples, the pretraining losses, and short real runs of both
recipes, pretraining's weights carried into fine-tuning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from KeypointEngineLib.volume.preprocess import to_image
from KeypointEvaluationLib.cardiac.datasets import (
    GROUPS,
    acdc_group,
    acdc_release_frames,
    h5_frames,
    mnms_frames,
    read_h5_frame,
)
from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom
from KeypointEvaluationLib.cardiac.splits import VALIDATION_PATIENTS
from KeypointTraining.config import TrainConfig
from KeypointTraining.kaf.correspondences import slice_correspondences
from KeypointTraining.kaf.data import CROP, SliceSamples, working_frame
from KeypointTraining.kaf.pretraining import assignment_nll, log_optimal_transport, positional_contrastive
from KeypointTraining.kaf.recipe import labelled_patients, training_frames
from KeypointTraining.runner import Runner


def _write_h5(folder, patient, phase_index, systole):
    import h5py

    phantom = short_axis_phantom(slices=5, size=96, systole=systole, seed=int(patient[-3:]))
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{patient}_frame0{phase_index}.h5", "w") as file:
        file["image"] = (phantom.image / phantom.image.max()).astype(np.float32)
        file["label"] = phantom.labels
    return phantom


@pytest.fixture(scope="module")
def acdc_h5(tmp_path_factory):
    """The shared data's layout: acdc-train/ with two training patients and one validation patient."""
    root = tmp_path_factory.mktemp("data")
    for patient in ("patient002", "patient061", VALIDATION_PATIENTS[0]):
        _write_h5(root / "acdc-train", patient, 1, 0.0)
        _write_h5(root / "acdc-train", patient, 2, 1.0)
    return root


def test_hdf5_frames_carry_phase_labels_and_the_assumed_spacing(acdc_h5):
    frame = read_h5_frame(acdc_h5 / "acdc-train" / "patient061_frame02.h5")
    assert (frame.patient, frame.phase, frame.group) == ("patient061", "ES", "NOR")
    assert set(np.unique(frame.labels)) == {0, 1, 2, 3} and frame.image.shape == frame.labels.shape
    np.testing.assert_allclose(np.linalg.norm(frame.ijk_to_ras[:3, :3], axis=0), [1.5625, 1.5625, 10.0])


def test_the_real_acdc_release_is_read_at_its_ed_and_es_frames_with_its_own_geometry(tmp_path):
    patient = tmp_path / "patient042"
    patient.mkdir()
    (patient / "Info.cfg").write_text("ED: 1\nES: 11\nGroup: MINF\nHeight: 170.0\nNbFrame: 30\nWeight: 70.0\n")
    geometry = np.diag([-1.4, -1.4, 9.0, 1.0])
    written = {}
    for frame_number, systole in ((1, 0.0), (11, 1.0)):
        phantom = short_axis_phantom(slices=5, size=64, systole=systole)
        stem = patient / f"patient042_frame{frame_number:02d}"
        sitk.WriteImage(to_image(phantom.image, geometry), f"{stem}.nii.gz")
        sitk.WriteImage(to_image(phantom.labels, geometry), f"{stem}_gt.nii.gz")
        written[frame_number] = phantom
    frames = list(acdc_release_frames(tmp_path))
    assert [(f.patient, f.phase) for f in frames] == [("patient042", "ED"), ("patient042", "ES")]
    np.testing.assert_array_equal(frames[1].labels, written[11].labels)
    np.testing.assert_allclose(frames[0].ijk_to_ras, geometry, atol=1e-6)


def test_mnms_labels_are_mapped_to_acdcs_and_frames_taken_from_its_table(tmp_path):
    code = "A0S9V9"
    subject = tmp_path / code
    subject.mkdir()
    phantoms = [short_axis_phantom(slices=4, size=48, systole=s) for s in (0.0, 0.5, 1.0)]
    to_mnms = np.array([0, 3, 2, 1], np.uint8)  # ACDC RV 1, MYO 2, LV 3 -> M&Ms LV 1, MYO 2, RV 3
    cine = sitk.JoinSeries([to_image(p.image, p.ijk_to_ras) for p in phantoms])
    truth = sitk.JoinSeries([to_image(to_mnms[p.labels], p.ijk_to_ras) for p in phantoms])
    sitk.WriteImage(cine, str(subject / f"{code}_sa.nii.gz"))
    sitk.WriteImage(truth, str(subject / f"{code}_sa_gt.nii.gz"))
    table = tmp_path / "info.csv"
    table.write_text("External code,VendorName,ED,ES\nA0S9V9,Siemens,0,2\nMISSING,GE,0,9\n")
    frames = list(mnms_frames(tmp_path, table))
    assert [(f.patient, f.phase) for f in frames] == [(code, "ED"), (code, "ES")]
    assert [f.phase for f in training_frames(tmp_path, mnms_table=table)] == ["ED", "ES"]  # the recipes read it so
    np.testing.assert_array_equal(frames[1].labels, phantoms[2].labels)
    np.testing.assert_array_equal(frames[0].image, phantoms[0].image.astype(np.float32))


def test_the_validation_split_is_13_whole_patients_stratified_by_group():
    groups = [acdc_group(patient) for patient in VALIDATION_PATIENTS]
    assert len(set(VALIDATION_PATIENTS)) == 13
    assert {name: groups.count(name) for name in GROUPS} == {"DCM": 3, "HCM": 3, "MINF": 3, "NOR": 2, "ARV": 2}


def test_training_never_sees_a_validation_patient(acdc_h5):
    patients = {frame.patient for frame in training_frames(acdc_h5)}
    assert patients == {"patient002", "patient061"}


def test_the_shared_data_leaves_60_training_patients():
    from conftest import shared_data

    frames = training_frames(shared_data("acdc-train").parent)
    patients = {frame.patient for frame in frames}
    assert len(patients) == 60 and not patients & set(VALIDATION_PATIENTS)
    assert {frame.patient for frame in h5_frames(shared_data("acdc-train"))} | {
        frame.patient for frame in h5_frames(shared_data("acdc-sample"))} >= set(VALIDATION_PATIENTS)


def test_few_shot_draws_repeat_for_a_seed_and_differ_between_seeds():
    patients = [f"patient{n:03d}" for n in range(1, 61)]
    assert labelled_patients(patients, 6, 0) == labelled_patients(patients, 6, 0)
    assert labelled_patients(patients, 6, 0) != labelled_patients(patients, 6, 1)
    assert labelled_patients(patients, None, 0) == patients


def test_training_slices_are_augmented_crops_mostly_about_the_heart_and_some_anywhere():
    from KeypointEvaluationLib.cardiac.datasets import CardiacFrame

    phantom = short_axis_phantom(slices=3, size=256, pixel_mm=1.5625)  # 40 cm across: most of it is not heart
    frames = [working_frame(CardiacFrame("patient002", "ED", phantom.image.astype(np.float32), phantom.labels,
                                         phantom.ijk_to_ras))]
    samples = SliceSamples(frames, 40, seed=3, anywhere=0.4)
    item = samples[2]
    assert item["image"].shape == (1, CROP, CROP) and 0 <= item["image"].min() and item["image"].max() <= 1
    assert set(np.unique(item["label"].numpy())) <= {0, 1, 2, 3}
    torch.testing.assert_close(samples[2]["image"], item["image"])  # the same for the same seed
    with_heart = np.mean([(samples[index]["label"] == 3).sum() > 50 for index in range(40)])
    assert 0.45 < with_heart < 0.95  # about the heart 60 % of the time; anywhere (often off it) the rest


def test_correspondences_are_mutual_nearest_descriptors_within_the_distance():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (20, 2)).astype(np.float32)
    descriptors = rng.random((20, 128)).astype(np.float32)
    matches, unmatched_a, unmatched_b = slice_correspondences(points, descriptors, points + 2.0, descriptors)
    np.testing.assert_array_equal(matches[:, 0], matches[:, 1])
    assert len(matches) == 20 and not len(unmatched_a) and not len(unmatched_b)
    matches, unmatched_a, _ = slice_correspondences(points, descriptors, points + 30.0, descriptors)
    assert len(unmatched_a) == 20 - len(matches) and len(matches) < 5  # too far: mostly unmatched


def test_optimal_transport_assigns_and_sends_the_unmatched_to_the_dustbin():
    scores = torch.full((4, 3), -5.0)
    scores[0, 0] = scores[1, 1] = scores[2, 2] = 5.0  # keypoint 3 of A has no partner
    probability = log_optimal_transport(scores, torch.tensor(0.0)).exp()
    torch.testing.assert_close(probability[:4].sum(1), torch.ones(4), atol=1e-3, rtol=0)
    torch.testing.assert_close(probability[:, :3].sum(0), torch.ones(3), atol=1e-3, rtol=0)
    assert probability[:3, :3].argmax(1).tolist() == [0, 1, 2] and probability[3].argmax() == 3
    good = assignment_nll(probability.log(), torch.tensor([[0, 0], [1, 1], [2, 2]]), torch.tensor([3]),
                          torch.tensor([], dtype=torch.long))
    wrong = assignment_nll(probability.log(), torch.tensor([[0, 1], [1, 0], [2, 2]]), torch.tensor([3]),
                           torch.tensor([], dtype=torch.long))
    assert good < wrong


def test_positional_contrast_rewards_embeddings_that_follow_slice_position():
    positions = torch.tensor([0.0, 0.05, 0.5, 0.55, 1.0, 0.95])
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    following = torch.nn.functional.normalize(torch.stack([torch.cos(positions * 3), torch.sin(positions * 3)], 1),
                                              dim=1)
    shuffled = following[torch.tensor([2, 5, 0, 4, 1, 3])]
    assert positional_contrastive(following, positions, groups) < positional_contrastive(shuffled, positions, groups)


def test_pretraining_then_fine_tuning_runs_and_exports(acdc_h5, tmp_path):
    small = {"data": str(acdc_h5), "base_features": 4, "attention_depth": 1, "keypoints": 32}
    pretrain = TrainConfig.from_dict(dict(recipe="kaf-pretrain", output_dir=str(tmp_path / "pre"), batch_size=2,
                                          max_steps=2, log_every_steps=1, recipe_options=small))
    runner = Runner(pretrain)
    result = runner.train()
    assert result.steps == 2 and np.isfinite(result.last_loss)
    logged = [json.loads(line) for line in (tmp_path / "pre" / "log.jsonl").read_text().splitlines()]
    assert {"global_cnn", "global_keypoint", "local"} <= set(logged[-1])
    card = runner.export("kaf-pretrained", {}, tmp_path / "export")
    finetune = TrainConfig.from_dict(dict(recipe="kaf-unet", output_dir=str(tmp_path / "fine"), batch_size=2,
                                          max_steps=2, log_every_steps=1,
                                          recipe_options={**small, "init": str(card.weights_path), "labelled": 1}))
    runner = Runner(finetune)
    before = {key: value.clone() for key, value in runner.model.state_dict().items()}
    pretrained = torch.load(card.weights_path, weights_only=True)
    torch.testing.assert_close(before["head.weight"], pretrained["network.head.weight"])  # the init was taken
    assert runner.train().steps == 2
    exported = runner.export("kaf-unet-test", {}, tmp_path / "export")
    assert exported.extra["validation_patients"] == list(VALIDATION_PATIENTS)
    assert len(exported.extra["labelled_patients"]) == 1 and "non-commercial" in exported.extra["data_terms"]
