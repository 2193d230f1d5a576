"""The `smoke` recipe: fits y = 3x - 1 in seconds, to check a training setup (one CPU, several GPUs, torchrun)."""

from __future__ import annotations

import torch

from KeypointTraining.config import TrainConfig
from KeypointTraining.recipes import Recipe, register_recipe


@register_recipe("smoke")
def smoke_recipe(config: TrainConfig) -> Recipe:
    generator = torch.Generator().manual_seed(7)
    x = torch.rand(config.recipe_options.get("samples", 64), 1, generator=generator)
    y = 3 * x - 1

    def training_step(model, batch):
        inputs, targets = batch
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        return loss, {"mse": loss.item()}

    def evaluate(model):
        device = next(model.parameters()).device
        return {"mse": torch.nn.functional.mse_loss(model(x.to(device)), y.to(device)).item()}

    return Recipe(model=torch.nn.Linear(1, 1), train_data=torch.utils.data.TensorDataset(x, y),
                  training_step=training_step, evaluate=evaluate,
                  model_card={"architecture": "Linear(1, 1)", "input": {"features": 1},
                              "training_data": "synthetic line y = 3x - 1"})
