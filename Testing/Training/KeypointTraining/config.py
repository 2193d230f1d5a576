"""Training configurations: JSON files with command-line overrides, saved beside each run for reproducibility."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    recipe: str
    output_dir: str = "Testing/Training/runs/default"
    seed: int = 0
    epochs: int = 1
    batch_size: int = 8
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    num_workers: int = 0
    checkpoint_every_steps: int = 100
    evaluate_every_epochs: int = 1
    log_every_steps: int = 10
    max_steps: int | None = None  # stop early (smoke runs, time budgets)
    decay_from_step: int | None = None  # constant rate until this step, then falling linearly to zero at max_steps
    recipe_options: dict[str, Any] = field(default_factory=dict)
    model_name: str | None = None  # exported weights + card name (default: the recipe's); ablations need their own

    def learning_rate_at(self, step: int, total_steps: int) -> float:
        """The rate for optimiser step `step` (0-based): a function of the step alone, so a resume needs no state."""
        if self.decay_from_step is None or step < self.decay_from_step:
            return self.learning_rate
        remaining = max(total_steps - self.decay_from_step, 1)
        return self.learning_rate * max(total_steps - step, 0) / remaining

    @property
    def export_name(self) -> str:
        return self.model_name or self.recipe

    @classmethod
    def from_file(cls, path: Path | str, overrides: list[str] = ()) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        return cls.from_dict(data, overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any], overrides: list[str] = ()) -> TrainConfig:
        data = dict(data)
        for override in overrides:
            key, _, value = override.partition("=")
            if not _:
                raise ValueError(f"Override {override!r} is not KEY=VALUE.")
            target = data
            *parents, leaf = key.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = json.loads(value) if _looks_like_json(value) else value
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown config keys {sorted(unknown)}; known: {sorted(known)}.")
        if "recipe" not in data:
            raise ValueError("The config must name its recipe.")
        return cls(**data)

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


def _looks_like_json(value: str) -> bool:
    try:
        json.loads(value)
        return True
    except json.JSONDecodeError:
        return False
