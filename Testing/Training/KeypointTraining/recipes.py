"""Recipes: how to build one model's training (network, data, loss, evaluation) from a TrainConfig.

Each trainable model registers one function with `@register_recipe("name")`; `slicer-keypoints train name` finds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from KeypointTraining.config import TrainConfig


@dataclass
class Recipe:
    """What the runner needs from a model.

    `training_step(model, batch) -> (loss, {name: float})`; `evaluate(model) -> {metric: float}` runs on the
    evaluation data; `model_card` holds the card fields the export cannot know (architecture, input, training data).
    """

    model: torch.nn.Module
    train_data: torch.utils.data.Dataset
    training_step: Callable[[torch.nn.Module, Any], tuple[torch.Tensor, dict[str, float]]]
    evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None
    model_card: dict[str, Any] = field(default_factory=dict)
    collate: Callable[[Iterable[Any]], Any] | None = None


RECIPES: dict[str, Callable[[TrainConfig], Recipe]] = {}
# Modules whose import registers the shipped recipes; imported on first use, so each recipe's heavy imports wait.
BUILTIN_RECIPE_MODULES = ("KeypointTraining.smoke", "KeypointTraining.retina.recipe", "KeypointTraining.sp3d.recipe",
                          "KeypointTraining.kaf.recipe", "KeypointTraining.kaf.pretrain")


def register_recipe(name: str):
    def decorator(build: Callable[[TrainConfig], Recipe]):
        RECIPES[name] = build
        return build

    return decorator


def available_recipes() -> list[str]:
    for module in BUILTIN_RECIPE_MODULES:
        importlib.import_module(module)
    return sorted(RECIPES)


def build_recipe(config: TrainConfig) -> Recipe:
    if config.recipe not in available_recipes():
        known = ", ".join(available_recipes())
        raise KeyError(f"Unknown recipe {config.recipe!r} (available: {known}).")
    return RECIPES[config.recipe](config)
