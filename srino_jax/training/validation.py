"""Periodic validation of a training stage on the validation file.

  aux     mean L1 of f_M2P and f_KE on validation patches        (lower is better)
  stage1  denoising L1 at fixed timesteps and noise               (lower is better)
  stage2  25-step DDIM fusion, scored with Q2n, SAM and ERGAS     (Q2n: higher is better)

The validation patches, timesteps and noise are fixed for the whole run, so scores of
different steps are comparable.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from srino_jax import metrics, model as srino, sensors
from srino_jax.data.pancollection import read_pancollection
from srino_jax.training.config import RunConfig

__all__ = ["make_validator", "score_fusion"]


def score_fusion(fused: np.ndarray, gt: np.ndarray, sensor) -> dict[str, float]:
  """Mean Q2n, SAM, ERGAS, PSNR over a stack; both (N, H, W, C) in model units (/max)."""
  sensor = sensors.get_sensor(sensor)
  rows = [metrics.reduced_resolution(f * sensor.max_value, g * sensor.max_value, sensor)
          for f, g in zip(np.asarray(fused, np.float64), np.asarray(gt, np.float64))]
  return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def make_validator(run: RunConfig, stage: str, batch_size: int = 8) -> Callable[[Any], dict]:
  """Returns `validate(params) -> dict` with a "score" entry used to pick the best checkpoint."""
  cfg = run.model_config()
  data = read_pancollection(run.data.path("valid"), run.sensor, limit=run.train.eval_examples)
  if "gt" not in data:
    raise ValueError(f"validation file {run.data.path('valid')} has no 'gt' (reduced "
                     "resolution needed)")
  n = data["pan"].shape[0]
  chunks = [{k: v[i:i + batch_size] for k, v in data.items()} for i in range(0, n, batch_size)]
  key = jax.random.PRNGKey(run.seed + 1_000_003)

  if stage == "aux":
    loss = jax.jit(lambda p, b: srino.aux_loss(cfg, p, b))
  elif stage == "stage1":
    loss = jax.jit(lambda p, b, k: srino.stage1_loss(cfg, p, b, k))
  else:
    sample = jax.jit(srino.sample, static_argnums=(0, 4, 5))  # static eta: no noise at 0

  def validate(params) -> dict[str, float]:
    if stage == "stage2":
      fused = np.concatenate([
          np.asarray(sample(cfg, params, c, jax.random.fold_in(key, i),
                            run.diffusion.sample_steps, run.diffusion.eta))
          for i, c in enumerate(chunks)])
      scores = score_fusion(fused, data["gt"], run.sensor)
      return {**scores, "score": scores["Q2n"]}
    values = []
    for i, c in enumerate(chunks):
      out = loss(params, c) if stage == "aux" else loss(params, c, jax.random.fold_in(key, i))
      values.append(float(out[0]) * c["pan"].shape[0])
    value = sum(values) / n
    return {"loss": value, "score": value}

  return validate
