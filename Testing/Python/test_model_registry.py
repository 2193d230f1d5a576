"""Shipped weights are verified against their model card before torch loads them."""

from __future__ import annotations

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
    with pytest.raises(KeyError, match="registered: tiny"):
        registry.card("huge")
    (tmp_path / "tiny.pt").unlink()
    with pytest.raises(FileNotFoundError, match="Weights of model 'tiny' are missing"):
        registry.load_state_dict("tiny")


def test_cards_missing_required_fields_are_rejected(tmp_path):
    (tmp_path / "bad.json").write_text('{"name": "bad", "file": "bad.pt"}')
    with pytest.raises(ValueError, match="lacks sha256"):
        ModelRegistry(tmp_path).cards()


def test_every_shipped_model_verifies():
    registry = default_registry()
    for card in registry.cards():
        registry.verify(card)
