"""Exponential moving average (EMA) of the trained parameters, as diffusion codebases keep.

  ema_k = p_k                                          k <= start  (follows the online weights)
  ema_k = ema_{k-1} + (1 - decay) (p_k - ema_{k-1})    k > start

with p_k the parameters after optimizer step k (k = 1, 2, ...). The second line is
decay * ema + (1 - decay) * p written so that a constant sequence stays exactly constant.
Only the groups a stage trains get a copy: frozen groups do not move, so their EMA would be
themselves. Validation, best-checkpoint selection and fusion use `with_ema(params, ema)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["EmaSettings", "init_ema", "ema_update", "with_ema"]


@dataclasses.dataclass(frozen=True)
class EmaSettings:
  """config.train.ema_decay / ema_start of a run.

  Attributes:
    decay: the EMA's decay in (0, 1); a run without EMA has no settings (None).
    start: the optimizer step up to which the EMA copies the online weights.
  """

  decay: float
  start: int

  def __post_init__(self):
    if not 0.0 < self.decay < 1.0:
      raise ValueError(f"config.train.ema_decay must be in (0, 1) (0 = no EMA), got "
                       f"{self.decay}")
    if self.start < 0:
      raise ValueError(f"config.train.ema_start must be >= 0, got {self.start}")


def init_ema(params: dict, groups: tuple[str, ...]) -> dict:
  """The EMA's first value: a copy (new buffers: the train state is donated) of `groups`."""
  return {g: jax.tree.map(jnp.copy, params[g]) for g in groups}


def ema_update(ema: dict, params: dict, step: jax.Array, settings: EmaSettings) -> dict:
  """The EMA after optimizer step `step` (int32 scalar, 1-based) left `params`.

  Args:
    ema: {group: tree}, the EMA after step - 1.
    params: the whole parameter tree after step (only the EMA's groups are read).
    step: the number of optimizer steps taken, this one included.
    settings: decay and start.
  """
  follow = step <= settings.start
  one_minus = jnp.float32(1.0 - settings.decay)

  def update(e, p):
    return jnp.where(follow, p, e + (one_minus * (p - e)).astype(e.dtype))

  return {g: jax.tree.map(update, tree, params[g]) for g, tree in ema.items()}


def with_ema(params: dict, ema: dict | None) -> Any:
  """The parameters to evaluate: the EMA's groups over the online tree (the frozen groups,
  which have no EMA, from the online tree); `params` itself without an EMA."""
  return params if not ema else {**params, **ema}
