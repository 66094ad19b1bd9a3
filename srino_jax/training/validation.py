"""Periodic validation of a training stage, as its record says.

  "loss"    the stage's own loss on the validation patches (the train step's loss function,
            `state.make_eval_step`) at fixed keys: fixed timesteps and noise
  "fusion"  the stage fusing the validation patches through the one fuser
            (`training.fuser.make_fuser`: SRINO's DDIM sampler with the run's steps and
            eta), scored with Q2n, SAM, ERGAS, PSNR; the score is Q2n

The patches and keys (`Run.validation_key`) are fixed for the whole run, so scores of
different steps are comparable; the record's `higher_is_better` says which way is better.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from srino_jax import metrics, sensors
from srino_jax.training import datasets
from srino_jax.training.fuser import fuse_scenes, make_fuser
from srino_jax.training.run import Run
from srino_jax.training.stages import get_stage
from srino_jax.training.state import make_eval_step

__all__ = ["make_validator", "score_fusion", "VALIDATORS"]

Validator = Callable[[Any], dict]


def score_fusion(fused: np.ndarray, gt: np.ndarray, sensor) -> dict[str, float]:
  """Mean Q2n, SAM, ERGAS, PSNR over a stack; both (N, H, W, C) in model units (/max)."""
  sensor = sensors.get_sensor(sensor)
  rows = [metrics.reduced_resolution(f, g, sensor)
          for f, g in zip(sensor.to_dn(fused), sensor.to_dn(gt))]
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _loss_validator(run: Run, stage: str, data: dict, key, batch_size: int) -> Validator:
  eval_step = make_eval_step(get_stage(stage).bind_loss(run.model))
  n = data["pan"].shape[0]
  chunks = [{k: v[i:i + batch_size] for k, v in data.items()} for i in range(0, n, batch_size)]

  def validate(params) -> dict[str, float]:
    total = sum(float(eval_step(params, c, jax.random.fold_in(key, i))[0]) * c["pan"].shape[0]
                for i, c in enumerate(chunks))
    return {"loss": total / n, "score": total / n}

  return validate


def _fusion_validator(run: Run, stage: str, data: dict, key, batch_size: int) -> Validator:
  fuser = make_fuser(run.with_stage(stage), None)  # compiled once, for every checkpoint

  def validate(params) -> dict[str, float]:
    fused, _ = fuse_scenes(fuser.with_params(params), data, key, batch_size)
    scores = score_fusion(fused, data["gt"], run.config.sensor)
    return {**scores, "score": scores["Q2n"]}

  return validate


VALIDATORS: dict[str, Callable[..., Validator]] = {"loss": _loss_validator,
                                                   "fusion": _fusion_validator}


def make_validator(run: Run, stage: str, batch_size: int = 8, scenes: dict | None = None
                   ) -> Validator:
  """Returns `validate(params) -> dict` with a "score" entry used to pick the best checkpoint.

  Args:
    run: the run (validation data, sampling settings, keys).
    stage: a registered stage name; its `validation` picks the kind.
    batch_size: validation patches per call.
    scenes: real scenes already read (`datasets.train_batches`'s cache).

  The patches are `datasets.validation_set`'s: the validation parts of the real sources'
  held-out blocks when the run has some, else the first `eval_examples` of the validation
  file.

  Raises:
    ValueError: the validation file has no `gt` (reduced resolution is needed).
  """
  record = get_stage(stage)
  data = datasets.validation_set(run, scenes)
  return VALIDATORS[record.validation](run, record.name, data, run.validation_key(), batch_size)
