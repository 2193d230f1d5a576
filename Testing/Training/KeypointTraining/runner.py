"""The training runner shared by every model: seeds, loop, checkpoints and resume, logs, evaluation, export.

Runs on one CPU here; under `torchrun --nproc_per_node N` (one or several machines) it trains with PyTorch DDP, with
no code change: the process group, device and data sharding come from torchrun's environment variables.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from KeypointTraining.config import TrainConfig
from KeypointTraining.export import export_model
from KeypointTraining.recipes import Recipe, build_recipe

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainResult:
    steps: int
    epochs_done: int
    last_loss: float
    metrics: dict[str, float]
    output_dir: Path


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Runner:
    def __init__(self, config: TrainConfig, recipe: Recipe | None = None):
        self.config = config
        self.output_dir = Path(config.output_dir)
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        self.rank = dist.get_rank() if self.distributed else 0
        self.device = self._device()
        seed_everything(config.seed + self.rank)
        self.recipe = recipe or build_recipe(config)
        self.model = self.recipe.model.to(self.device)
        if self.distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        self.step, self.epoch, self.step_in_epoch = 0, 0, 0
        self.is_main = self.rank == 0

    def _device(self) -> torch.device:
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")

    # -- checkpoints ---------------------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if not self.is_main:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        state = {"model": _unwrap(self.model).state_dict(), "optimizer": self.optimizer.state_dict(),
                 "step": self.step, "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
                 "torch_rng": torch.get_rng_state()}
        temporary = self.output_dir / (CHECKPOINT + ".tmp")
        torch.save(state, temporary)
        temporary.replace(self.output_dir / CHECKPOINT)  # never leave a half-written checkpoint behind

    def resume(self) -> bool:
        path = self.output_dir / CHECKPOINT
        if not path.is_file():
            return False
        state = torch.load(path, map_location=self.device, weights_only=True)
        _unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.epoch, self.step_in_epoch = state["step"], state["epoch"], state["step_in_epoch"]
        torch.set_rng_state(state["torch_rng"])
        return True

    # -- the loop ------------------------------------------------------------------------------------------------
    def _loader(self, epoch: int, skip_batches: int = 0) -> DataLoader:
        """The epoch's batches, less the first `skip_batches` (trained on before a resume; never loaded again)."""
        data = self.recipe.train_data
        generator = torch.Generator().manual_seed(self.config.seed * 1000 + epoch)  # same order after a resume
        if self.distributed:
            sampler = DistributedSampler(data, seed=self.config.seed)
            sampler.set_epoch(epoch)
            sampler = list(sampler)[skip_batches * self.config.batch_size:]
        else:
            sampler = list(RandomSampler(data, generator=generator))[skip_batches * self.config.batch_size:]
        return DataLoader(data, batch_size=self.config.batch_size, sampler=sampler, drop_last=True,
                          num_workers=self.config.num_workers, collate_fn=self.recipe.collate)

    def train(self) -> TrainResult:
        from tqdm import tqdm

        config = self.config
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            config.save(self.output_dir / "config.json")
        metrics: dict[str, float] = {}
        last_loss = float("nan")
        total_steps = config.max_steps or config.epochs * len(self._loader(0))
        progress = tqdm(total=total_steps, initial=self.step, disable=not self.is_main, desc=config.recipe,
                        unit="step", dynamic_ncols=True, mininterval=10)
        while self.epoch < config.epochs and not self._done():
            self.model.train()
            for batch in self._loader(self.epoch, self.step_in_epoch):
                for group in self.optimizer.param_groups:
                    group["lr"] = config.learning_rate_at(self.step, total_steps)
                loss, logs = self.recipe.training_step(self.model, _to(batch, self.device))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.step, self.step_in_epoch, last_loss = self.step + 1, self.step_in_epoch + 1, loss.item()
                progress.update(1)
                progress.set_postfix(loss=f"{last_loss:.4f}")
                if self.step % config.log_every_steps == 0:
                    self._log({"step": self.step, "epoch": self.epoch, "loss": last_loss, **logs})
                if self.step % config.checkpoint_every_steps == 0:
                    self.save_checkpoint()
                if self._done():
                    break
            else:
                self.epoch, self.step_in_epoch = self.epoch + 1, 0
                if self.recipe.evaluate and self.epoch % config.evaluate_every_epochs == 0:
                    metrics = self.evaluate()
        progress.close()
        self.save_checkpoint()
        if self.recipe.evaluate and not metrics:
            metrics = self.evaluate()
        return TrainResult(self.step, self.epoch, last_loss, metrics, self.output_dir)

    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        with torch.no_grad():
            metrics = {key: float(value) for key, value in self.recipe.evaluate(_unwrap(self.model)).items()}
        self._log({"step": self.step, "epoch": self.epoch, "evaluation": metrics})
        return metrics

    def export(self, name: str, metrics: dict[str, float], folder: Path | str | None = None, recipe_command=None):
        if not self.is_main:
            return None
        return export_model(self.model, name, folder or self.output_dir / "export", self.recipe.model_card, metrics,
                            recipe_command)

    def _done(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _log(self, record: dict) -> None:
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with open(self.output_dir / "log.jsonl", "a") as stream:
                stream.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")


def _to(batch, device: torch.device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to(value, device) for key, value in batch.items()}
    return batch


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model
