"""Scores classical baselines and given fused stacks on a set of scenes (table rows).

The comparison behind `python -m srino_jax.evaluate` and the demo's tables: each baseline
(`srino_jax.baselines.fuse`) is run on every scene, every stack scored with the toolbox's
indices (`score_stack`), one row per method (`make_row`).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from srino_jax.baselines import fuse, method_key
from srino_jax.metrics.report import make_row
from srino_jax.metrics.tables import score_stack
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["evaluate_methods"]


def evaluate_methods(scenes: Mapping[str, np.ndarray], sensor: str | Sensor,
                     methods: Sequence[str] = (), fused: Mapping[str, np.ndarray] | None = None,
                     dim_cut: int = 0, clip: bool = False, block_size: int = 32,
                     log=None) -> list[dict[str, Any]]:
  """Runs baselines on every scene, scores them and any given fused stacks.

  Args:
    scenes: from `load_scenes` (digital numbers); reduced resolution if it has "gt".
    sensor: sensor name or `Sensor`.
    methods: baseline names (`srino_jax.baselines.available_methods()`).
    fused: row name -> (N, H, W, C) fused stack in digital numbers (e.g. {"SRINO": sr}).
    dim_cut, clip, block_size: as in `srino_jax.metrics.score_stack`.
    log: optional callable(str) for progress lines.

  Returns:
    table rows (`srino_jax.metrics.make_row`), baselines first in the given order;
    a baseline row's "seconds" is its mean fusion time per scene.
  """
  sensor = get_sensor(sensor)
  kind = "reduced" if "gt" in scenes else "full"
  n = scenes["lms"].shape[0]
  for m in methods:
    method_key(m)  # every name checked before the first (slow) fusion

  def score(stack):
    if kind == "reduced":
      return score_stack("reduced", stack, sensor=sensor, gt=scenes["gt"], ratio=sensor.ratio,
                         dim_cut=dim_cut, clip=clip, block_size=block_size)
    return score_stack("full", stack, sensor=sensor, ms_lr=scenes["ms"], pan=scenes["pan"],
                       lms=scenes["lms"], ratio=sensor.ratio, dim_cut=dim_cut, clip=clip,
                       block_size=block_size)

  rows = []
  for m in methods:
    start = time.perf_counter()
    stack = np.stack([fuse(m, scenes["ms"][i], scenes["pan"][i], sensor, sensor.ratio)
                      for i in range(n)])
    seconds = (time.perf_counter() - start) / n
    rows.append(make_row(m.upper(), score(stack), seconds, sensor.bands))
    if log:
      log(f"  {m.upper()}: fused {n} scenes in {seconds:.3f} s each")
  for name, stack in (fused or {}).items():
    rows.append(make_row(name, score(np.asarray(stack)[:n]), None, sensor.bands))
  return rows
