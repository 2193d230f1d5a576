"""Shipped weights are verified against their model card before torch loads them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from KeypointEngineLib.registry import ChecksumMismatch, ModelCard, ModelRegistry, default_registry, sha256_of


@pytest.fixture
def registry(tmp_path) -> ModelRegistry:
    model = torch.nn.Conv2d(1, 4, 3)
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    card = ModelCard(name="tiny", file="tiny.pt", sha256=sha256_of(tmp_path / "tiny.pt"),
                     architecture="Conv2d(1, 4, 3)",
                     input={"channels": 1}, training_data="none (test)", recipe_command="pytest", metrics={},
                     date="2026-11-22", extra={"limits": "test only"})
    (tmp_path / "tiny.json").write_text(card.to_json())
    return ModelRegistry(tmp_path)


def test_verified_weights_load_into_the_model(registry):
    state, card = registry.load_state_dict("tiny")
    model = torch.nn.Conv2d(1, 4, 3)
    model.load_state_dict(state)
    assert card.extra == {"limits": "test only"} and card.input == {"channels": 1}


def test_tampered_weights_are_refused_with_a_clear_message(registry, tmp_path):
    with open(tmp_path / "tiny.pt", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ChecksumMismatch, match="do not match their model card.*will not be loaded.*pytest"):
        registry.load_state_dict("tiny")


def test_missing_weights_and_unknown_models_are_clear_errors(registry, tmp_path):
    with pytest.raises(ValueError, match="registered: tiny"):
        registry.card("huge")
    (tmp_path / "tiny.pt").unlink()
    with pytest.raises(FileNotFoundError, match="Weights of model 'tiny' are missing"):
        registry.load_state_dict("tiny")


def test_cards_missing_required_fields_are_rejected(tmp_path):
    (tmp_path / "bad.json").write_text('{"name": "bad", "file": "bad.pt"}')
    with pytest.raises(RuntimeError, match="lacks sha256"):
        ModelRegistry(tmp_path).cards()


def test_every_shipped_model_verifies():
    registry = default_registry()
    for card in registry.cards():
        registry.verify(card)
    assert "retina-keypoints" in {card.name for card in registry.cards()}


def _card_in(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(torch.nn.Linear(1, 1).state_dict(), folder / f"{name}.pt")
    card = ModelCard(name=name, file=f"{name}.pt", sha256=sha256_of(folder / f"{name}.pt"), architecture="Linear",
                     input={}, training_data="none (test)", recipe_command="pytest", metrics={}, date="2026-12-01")
    (folder / f"{name}.json").write_text(card.to_json())


def test_the_registry_searches_every_modules_folder(tmp_path):
    _card_in(tmp_path / "ModuleA" / "Resources" / "Models", "a-model")
    _card_in(tmp_path / "ModuleB" / "Resources" / "Models", "b-model")
    registry = ModelRegistry([tmp_path / "ModuleA" / "Resources" / "Models", tmp_path / "ModuleB" / "Resources" /
                              "Models"])
    assert [card.name for card in registry.cards()] == ["a-model", "b-model"]
    registry.load_state_dict("b-model")


def test_a_model_name_in_two_modules_is_an_error(tmp_path):
    _card_in(tmp_path / "A", "same")
    _card_in(tmp_path / "B", "same")
    with pytest.raises(RuntimeError, match="Two models are named 'same'.*Rename one"):
        ModelRegistry([tmp_path / "A", tmp_path / "B"]).cards()


def test_shipped_models_live_in_their_modules_folder(monkeypatch):
    from KeypointEngineLib.registry import MODELS_DIR_ENV, module_model_folders

    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    repo = Path(__file__).resolve().parents[2]
    assert repo / "KeypointAlign" / "Resources" / "Models" in module_model_folders()
    assert default_registry().card("retina-keypoints").folder == repo / "KeypointAlign" / "Resources" / "Models"


def test_the_environment_can_name_other_model_folders(tmp_path, monkeypatch):
    import os

    from KeypointEngineLib.registry import MODELS_DIR_ENV

    _card_in(tmp_path / "A", "a-model")
    _card_in(tmp_path / "B", "b-model")
    monkeypatch.setenv(MODELS_DIR_ENV, f"{tmp_path / 'A'}{os.pathsep}{tmp_path / 'B'}")
    assert [card.name for card in default_registry().cards()] == ["a-model", "b-model"]
