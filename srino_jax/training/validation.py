"""Periodic validation of a training stage on the validation file, as its record says.

  "loss"    the stage's own loss on the validation patches (the train step's loss function,
            `state.make_eval_step`) at fixed keys: fixed timesteps and noise
  "fusion"  the stage's `fuse` (SRINO: the DDIM sampler with the run's steps and eta) on the
            validation patches, scored with Q2n, SAM, ERGAS, PSNR; the score is Q2n

The validation patches, timesteps and noise are fixed for the whole run, so scores of
different steps are comparable; the record's `higher_is_better` says which way is better.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from srino_jax import metrics, sensors
from srino_jax.data.pancollection import read_pancollection
from srino_jax.training import datasets
from srino_jax.training import run as runs
from srino_jax.training.stages import Stage, get_stage
from srino_jax.training.state import make_eval_step

__all__ = ["make_validator", "score_fusion", "VALIDATORS"]

Validator = Callable[[Any], dict]


def score_fusion(fused: np.ndarray, gt: np.ndarray, sensor) -> dict[str, float]:
  """Mean Q2n, SAM, ERGAS, PSNR over a stack; both (N, H, W, C) in model units (/max)."""
  sensor = sensors.get_sensor(sensor)
  rows = [metrics.reduced_resolution(f * sensor.max_value, g * sensor.max_value, sensor)
          for f, g in zip(np.asarray(fused, np.float64), np.asarray(gt, np.float64))]
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _loss_validator(stage: Stage, cfg, config, chunks, key, n) -> Validator:
  eval_step = make_eval_step(stage.bind_loss(cfg))

  def validate(params) -> dict[str, float]:
    total = sum(float(eval_step(params, c, jax.random.fold_in(key, i))[0]) * c["pan"].shape[0]
                for i, c in enumerate(chunks))
    return {"loss": total / n, "score": total / n}

  return validate


def _fusion_validator(stage: Stage, cfg, config, chunks, key, n) -> Validator:
  fuse = jax.jit(stage.fuse, static_argnums=(0, 4, 5))  # static eta: no noise at 0
  steps, eta = config.diffusion.sample_steps, config.diffusion.eta
  gt = np.concatenate([c["gt"] for c in chunks])

  def validate(params) -> dict[str, float]:
    fused = np.concatenate([np.asarray(fuse(cfg, params, c, jax.random.fold_in(key, i),
                                            steps, eta))
                            for i, c in enumerate(chunks)])
    scores = score_fusion(fused, gt, config.sensor)
    return {**scores, "score": scores["Q2n"]}

  return validate


VALIDATORS: dict[str, Callable[..., Validator]] = {"loss": _loss_validator,
                                                   "fusion": _fusion_validator}


def make_validator(config, stage: str, batch_size: int = 8, scenes: dict | None = None
                   ) -> Validator:
  """Returns `validate(params) -> dict` with a "score" entry used to pick the best checkpoint.

  Args:
    config: the run's ConfigDict (validation file, examples, sampling settings, seed).
    stage: a registered stage name; its `validation` picks the kind.
    batch_size: validation patches per call.
    scenes: real scenes already read (`datasets.train_batches`'s cache).

  The patches are the real sources' held-out blocks when the config has some
  (`datasets.validation_data`), else the first `eval_examples` of the validation file.

  Raises:
    ValueError: the validation file has no `gt` (reduced resolution is needed).
  """
  record = get_stage(stage)
  data = datasets.validation_data(config, scenes)
  if data is None:
    path = runs.data_path(config, "valid")
    data = read_pancollection(path, config.sensor, limit=config.train.eval_examples)
    if "gt" not in data:
      raise ValueError(f"validation file {path} has no 'gt' (reduced resolution needed)")
  n = data["pan"].shape[0]
  chunks = [{k: v[i:i + batch_size] for k, v in data.items()} for i in range(0, n, batch_size)]
  key = jax.random.PRNGKey(config.seed + 1_000_003)
  return VALIDATORS[record.validation](record, runs.model_config(config), config, chunks,
                                       key, n)
