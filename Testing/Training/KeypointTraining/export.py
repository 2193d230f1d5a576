"""Export trained weights with their model card (sha256, data, recipe command, measured metrics)."""

from __future__ import annotations

import datetime
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from KeypointEngineLib.registry import ModelCard, sha256_of


def export_model(model: torch.nn.Module, name: str, folder: Path | str, card_fields: dict[str, Any],
                 metrics: dict[str, float], recipe_command: str | None = None) -> ModelCard:
    """Write `folder/<name>.pt` (a plain state dict, loadable with weights_only=True) and `folder/<name>.json`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{name}.pt"
    state = {key: value.detach().cpu().contiguous() for key, value in _unwrap(model).state_dict().items()}
    torch.save(state, weights)
    fields = dict(card_fields)
    card = ModelCard(
        name=name, file=weights.name, sha256=sha256_of(weights),
        architecture=fields.pop("architecture", type(_unwrap(model)).__name__),
        input=fields.pop("input", {}), training_data=fields.pop("training_data", "unspecified"),
        recipe_command=recipe_command or shlex.join(["slicer-keypoints", *sys.argv[1:]]),
        metrics=metrics, date=datetime.date.today().isoformat(), extra=fields, folder=folder)
    (folder / f"{name}.json").write_text(card.to_json())
    return card


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model
