"""Shipped models: model cards (JSON) beside their weights, checked by sha256 before anything is loaded.

A card is `Resources/Models/<name>.json` with at least: name, file, sha256, architecture, input, training_data,
recipe_command, metrics, date. Weights are loaded with `torch.load(..., weights_only=True)`, so a weights file can
hold tensors but never code.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

MODELS_DIR_ENV = "KEYPOINT_MODELS_DIR"
REQUIRED_FIELDS = ("name", "file", "sha256", "architecture", "input", "training_data", "recipe_command", "metrics",
                   "date")


class ChecksumMismatch(RuntimeError):
    """The weights on disk are not the ones the model card describes."""


@dataclass(frozen=True)
class ModelCard:
    name: str
    file: str
    sha256: str
    architecture: str
    input: dict[str, Any]
    training_data: str
    recipe_command: str
    metrics: dict[str, Any]
    date: str
    extra: dict[str, Any] = field(default_factory=dict)
    folder: Path = Path(".")

    @property
    def weights_path(self) -> Path:
        return self.folder / self.file

    @classmethod
    def from_json(cls, path: Path) -> ModelCard:
        data = json.loads(Path(path).read_text())
        missing = [key for key in REQUIRED_FIELDS if key not in data]
        if missing:
            raise ValueError(f"Model card {path} lacks {', '.join(missing)}; see KeypointEngine/Resources/Models/.")
        known = {key: data.pop(key) for key in REQUIRED_FIELDS}
        return cls(**known, extra=data, folder=Path(path).parent)

    def to_json(self) -> str:
        fields = {key: getattr(self, key) for key in REQUIRED_FIELDS}
        return json.dumps({**fields, **self.extra}, indent=2) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    """The model cards found in one folder."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def cards(self) -> list[ModelCard]:
        return [ModelCard.from_json(path) for path in sorted(self.folder.glob("*.json"))]

    def card(self, name: str) -> ModelCard:
        for card in self.cards():
            if card.name == name:
                return card
        known = ", ".join(card.name for card in self.cards()) or "none"
        raise KeyError(f"No model named {name!r} in {self.folder} (registered: {known}).")

    def verify(self, card: ModelCard) -> None:
        """Raise ChecksumMismatch (or FileNotFoundError) unless the weights file matches its card."""
        if not card.weights_path.is_file():
            raise FileNotFoundError(
                f"Weights of model {card.name!r} are missing: {card.weights_path}. Reinstall the extension, or "
                f"re-create them with: {card.recipe_command}"
            )
        actual = sha256_of(card.weights_path)
        if actual != card.sha256:
            raise ChecksumMismatch(
                f"Weights of model {card.name!r} at {card.weights_path} do not match their model card "
                f"(sha256 {actual[:12]}… instead of {card.sha256[:12]}…). The file is damaged or was replaced; "
                "it will not be loaded. Reinstall the extension, or retrain and export with: "
                f"{card.recipe_command}"
            )

    def load_state_dict(self, name: str, device: torch.device | str = "cpu",
                        ) -> tuple[dict[str, torch.Tensor], ModelCard]:
        """Verify, then load the weights of model `name` as a state dict on `device`."""
        card = self.card(name)
        self.verify(card)
        state = torch.load(card.weights_path, map_location=device, weights_only=True)
        return state, card


def default_models_dir() -> Path:
    """KeypointEngine/Resources/Models, the same relative place in a source checkout and in an installed Slicer."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override) if override else Path(__file__).resolve().parent.parent / "Resources" / "Models"


def default_registry() -> ModelRegistry:
    return ModelRegistry(default_models_dir())
