"""Shipped models: model cards (JSON) beside their weights, checked by sha256 before anything is loaded.

Each module ships its models in `<Module>/Resources/Models/`; the registry searches every module's folder (a model
name may appear only once). A card is `<name>.json` with at least: name, file, sha256, architecture, input,
training_data, recipe_command, metrics, date. Weights are loaded with `torch.load(..., weights_only=True)`, so a
weights file can hold tensors but never code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

import torch

from KeypointEngineLib.errors import BrokenInstallation, InputError

MODELS_DIR_ENV = "KEYPOINT_MODELS_DIR"
REQUIRED_FIELDS = ("name", "file", "sha256", "architecture", "input", "training_data", "recipe_command", "metrics",
                   "date")


class ChecksumMismatch(BrokenInstallation):
    """The weights on disk are not the ones the model card describes."""


class NotAStateDict(BrokenInstallation):
    """The weights file holds something other than a plain state dict of tensors (e.g. a pickled module, with code)."""


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
            raise BrokenInstallation(f"Model card {path} lacks {', '.join(missing)}; see <Module>/Resources/Models/.")
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
    """The model cards found in one or more folders."""

    def __init__(self, folders: Path | str | Iterable[Path | str]):
        folders = [folders] if isinstance(folders, (str, Path)) else folders
        self.folders = list(dict.fromkeys(Path(folder).resolve() for folder in folders))

    def cards(self) -> list[ModelCard]:
        """Every card, by folder then name; a name found twice is an error (which weights would load?)."""
        cards: dict[str, ModelCard] = {}
        for folder in self.folders:
            for path in sorted(folder.glob("*.json")):
                card = ModelCard.from_json(path)
                if card.name in cards:
                    first = cards[card.name].folder / cards[card.name].file
                    raise BrokenInstallation(f"Two models are named {card.name!r}: {first} and {folder / card.file}. "
                                             "Rename one (its card's name and file).")
                cards[card.name] = card
        return list(cards.values())

    def card(self, name: str) -> ModelCard:
        for card in self.cards():
            if card.name == name:
                return card
        known = ", ".join(card.name for card in self.cards()) or "none"
        folders = ", ".join(str(folder) for folder in self.folders) or "no folders"
        raise InputError(f"No model named {name!r} in {folders} (registered: {known}).")

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
        refusal = (f"Weights of model {card.name!r} at {card.weights_path} are not a plain state dict of tensors, so "
                   "they are not loaded (a file that holds objects can hold code). Export the model's state_dict() "
                   f"instead, as the training backend does: {card.recipe_command}")
        try:
            state = torch.load(card.weights_path, map_location=device, weights_only=True)
        except Exception:  # torch's own message advises weights_only=False: exactly what must not be done
            raise NotAStateDict(refusal) from None
        if not isinstance(state, dict) or not all(isinstance(key, str) and isinstance(value, torch.Tensor)
                                                  for key, value in state.items()):
            raise NotAStateDict(refusal)
        return state, card


PLUGIN_GROUP = "slicer_keypoints.modules"  # entry points: one per module, naming its plugin module (see pyproject)


def module_model_folders() -> list[Path]:
    """`Resources/Models` of every module: of each installed module plugin (entry points, e.g. a wheel), and of the
    module folders beside the engine's, as a source checkout has them and as Slicer installs an extension (all its
    modules' resources in one `Resources/` beside the packages)."""
    folders = []
    for plugin in {entry_point.value for entry_point in metadata.entry_points(group=PLUGIN_GROUP)}:
        folders += [Path(folder) for folder in getattr(import_module(plugin), "MODEL_FOLDERS", ())]
    engine_module = Path(__file__).resolve().parents[1]  # KeypointEngine/ (source) or qt-scripted-modules/ (Slicer)
    folders += [engine_module / "Resources" / "Models", *sorted(engine_module.parent.glob("*/Resources/Models"))]
    return [folder for folder in dict.fromkeys(folder.resolve() for folder in folders) if folder.is_dir()]


def default_registry() -> ModelRegistry:
    """Every module's models, or only those in $KEYPOINT_MODELS_DIR (folders separated by os.pathsep) when set."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return ModelRegistry(folder for folder in override.split(os.pathsep) if folder)
    return ModelRegistry(module_model_folders())
