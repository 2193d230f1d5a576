"""The shared training runner: it learns, checkpoints, resumes to the same weights, logs, evaluates and exports."""

from __future__ import annotations

import json

import pytest
import torch

from KeypointEngineLib.registry import ModelRegistry
from KeypointTraining.config import TrainConfig
from KeypointTraining.recipes import RECIPES, Recipe, available_recipes, register_recipe
from KeypointTraining.runner import Runner


@register_recipe("test-line-fit")
def line_fit_recipe(config: TrainConfig) -> Recipe:
    """Fit y = 3x - 1 with a linear layer: small enough to train for real inside a test."""
    generator = torch.Generator().manual_seed(7)
    x = torch.rand(64, 1, generator=generator)
    data = torch.utils.data.TensorDataset(x, 3 * x - 1)

    def step(model, batch):
        inputs, targets = batch
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        return loss, {"mse": loss.item()}

    def evaluate(model):
        return {"mse": float(torch.nn.functional.mse_loss(model(x), 3 * x - 1))}

    return Recipe(model=torch.nn.Linear(1, 1), train_data=data, training_step=step, evaluate=evaluate,
                  model_card={"architecture": "Linear(1, 1)", "input": {"features": 1},
                              "training_data": "synthetic line"})


def _config(tmp_path, **changes) -> TrainConfig:
    base = dict(recipe="test-line-fit", output_dir=str(tmp_path / "run"), epochs=6, batch_size=8,
                learning_rate=0.05, checkpoint_every_steps=5, log_every_steps=4)
    return TrainConfig.from_dict({**base, **changes})


def test_runner_learns_logs_and_evaluates(tmp_path):
    runner = Runner(_config(tmp_path))
    initial = runner.evaluate()["mse"]
    result = runner.train()
    assert result.steps == 6 * 8
    assert result.metrics["mse"] < initial / 4
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("loss" in record for record in log) and any("evaluation" in record for record in log)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["recipe"] == "test-line-fit"


def test_resumed_training_reaches_the_same_weights(tmp_path):
    straight = Runner(_config(tmp_path / "a"))
    straight.train()

    interrupted = Runner(_config(tmp_path / "b", max_steps=20))
    interrupted.train()
    resumed = Runner(_config(tmp_path / "b"))
    assert resumed.resume() and resumed.step == 20
    resumed.train()
    for expected, actual in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(actual, expected)


def test_learning_rate_holds_then_decays_linearly_to_zero(tmp_path):
    config = _config(tmp_path, decay_from_step=30)
    assert [config.learning_rate_at(step, 48) for step in (0, 29, 30)] == [0.05, 0.05, 0.05]
    assert config.learning_rate_at(39, 48) == pytest.approx(0.05 * 9 / 18)
    assert config.learning_rate_at(48, 48) == 0.0
    assert _config(tmp_path).learning_rate_at(47, 48) == 0.05  # no decay unless asked

    runner = Runner(config)
    runner.train()
    assert runner.optimizer.param_groups[0]["lr"] == pytest.approx(0.05 / 18)  # the rate of the last step


def test_export_writes_weights_the_registry_verifies(tmp_path):
    runner = Runner(_config(tmp_path, epochs=1))
    result = runner.train()
    card = runner.export("line-fit", result.metrics, tmp_path / "models", recipe_command="slicer-keypoints train x")
    registry = ModelRegistry(tmp_path / "models")
    state, loaded_card = registry.load_state_dict("line-fit")
    assert set(state) == {"weight", "bias"} and loaded_card.sha256 == card.sha256
    assert loaded_card.metrics == result.metrics and loaded_card.recipe_command == "slicer-keypoints train x"


def test_config_overrides_and_unknown_keys():
    config = TrainConfig.from_dict({"recipe": "r"}, ["epochs=3", "recipe_options.size=192", "output_dir=runs/x"])
    assert config.epochs == 3 and config.recipe_options == {"size": 192} and config.output_dir == "runs/x"
    with pytest.raises(ValueError, match="Unknown config keys"):
        TrainConfig.from_dict({"recipe": "r", "epoch": 3})


def test_unknown_recipe_lists_available_ones(tmp_path):
    with pytest.raises(KeyError, match="test-line-fit"):
        Runner(TrainConfig(recipe="nope", output_dir=str(tmp_path)))
    assert "test-line-fit" in RECIPES and "smoke" in available_recipes()


def test_torchrun_trains_with_ddp_on_two_processes_without_code_changes(tmp_path):
    """Two CPU processes (gloo) under torchrun: the same command as on a GPU cluster."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
               "-m", "KeypointCLI", "train", "smoke", "--set", f"output_dir={tmp_path / 'ddp'}", "--set", "epochs=3",
               "--set", "batch_size=4", "--set", "learning_rate=0.05"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    # 64 samples over 2 ranks of batch 4: 8 steps per epoch per rank, logged by rank 0 only
    assert max(record["step"] for record in log) == 3 * 8
    assert (tmp_path / "ddp" / "export" / "smoke.pt").is_file()


def test_model_name_sets_the_exported_weights_and_card(tmp_path):
    """Ablation runs of one recipe export side by side under their own names."""
    from KeypointCLI.main import main

    assert main(["train", "smoke", "--set", f"output_dir={tmp_path / 'run'}", "--set", "model_name=smoke-variant",
                 "--export", str(tmp_path / "models")]) == 0
    card = json.loads((tmp_path / "models" / "smoke-variant.json").read_text())
    assert card["name"] == "smoke-variant" and (tmp_path / "models" / "smoke-variant.pt").is_file()
    assert not (tmp_path / "models" / "smoke.json").exists()
