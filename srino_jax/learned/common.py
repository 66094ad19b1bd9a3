"""What every learned baseline shares: input checks, L1 loss, and the stage-style API.

A learned baseline is a flax module `net(lms, pan) -> fused (B, H, W, C)`; `make_api` turns it
into the three functions the training loop and the evaluation call, with the signatures of
SRINO's stages so that the stage registry can hold them beside SRINO's:

  init_<name>(cfg, key, pan_size) -> {"<name>": params}
  <name>_loss(cfg, params, batch, key) -> (loss, {"loss": loss})      (L1 on gt)
  <name>_fuse(cfg, params, batch, key, num_steps, eta, on_step=None) -> (B, H, W, C)

`cfg` is any object with `bands` (e.g. `srino_jax.model.ModelConfig`); batches are dicts of
NHWC float32 arrays in sensor-max units with keys gt, lms, ms, pan (fuse needs lms and pan).
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["check_inputs", "make_api"]


def check_inputs(lms: jnp.ndarray, pan: jnp.ndarray, bands: int, name: str) -> None:
  """Raises ValueError naming the network when lms / pan are not (B, H, W, C) / (B, H, W, 1)."""
  if lms.ndim != 4 or lms.shape[-1] != bands:
    raise ValueError(f"{name}: lms must be (B, H, W, {bands}), got {lms.shape}")
  if pan.shape != lms.shape[:3] + (1,):
    raise ValueError(f"{name}: pan must be {lms.shape[:3] + (1,)}, got {pan.shape}")


def make_api(name: str, make_net: Callable[[Any], nn.Module]):
  """(init, loss, fuse) functions of the baseline `name` built by `make_net(cfg)`."""

  def init(cfg, key, pan_size: int = 64) -> dict[str, Any]:
    """Initial parameters {name: params} (float32), shape-inferred on a pan_size grid."""
    if pan_size < 8:
      raise ValueError(f"init_{name}: pan_size must be >= 8, got {pan_size}")
    lms = jnp.zeros((1, pan_size, pan_size, cfg.bands), jnp.float32)
    pan = jnp.zeros((1, pan_size, pan_size, 1), jnp.float32)
    variables = jax.jit(make_net(cfg).init)(key, lms, pan)
    return {name: jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), dict(variables["params"]))}

  def fuse(cfg, params, batch, key=None, num_steps=None, eta=None, on_step=None
           ) -> jnp.ndarray:
    """The fused image (B, H, W, C) in sensor-max units; key, num_steps, eta, on_step and
    any batch key other than lms and pan (e.g. "origin") are ignored (a feed-forward
    network: one deterministic pass, no steps)."""
    del key, num_steps, eta, on_step
    return make_net(cfg).apply({"params": params[name]}, batch["lms"], batch["pan"])

  def loss(cfg, params, batch, key=None) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
    """Mean absolute error against batch["gt"] (sensor-max units), and {"loss": it}."""
    del key
    value = jnp.mean(jnp.abs(fuse(cfg, params, batch) - batch["gt"]))
    return value, {"loss": value}

  init.__name__, loss.__name__, fuse.__name__ = f"init_{name}", f"{name}_loss", f"{name}_fuse"
  return init, loss, fuse
