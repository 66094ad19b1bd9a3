"""Validation of the batch dicts the losses and the sampler take."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from srino_jax.model.config import ModelConfig

__all__ = ["unpack_batch", "batch_origin"]


def unpack_batch(cfg: ModelConfig, batch: dict[str, Any], need_gt: bool
                 ) -> tuple[jnp.ndarray | None, jnp.ndarray, jnp.ndarray]:
  """Checks keys, ranks, band counts and grids (shapes only, so it is free under jit).

  Args:
    cfg: the model configuration (its `bands`).
    batch: dict of float32 NHWC arrays in sensor-max units: "lms" (B, H, W, C), "pan"
      (B, H, W, 1) or (B, H, W), "gt" (B, H, W, C) when `need_gt`; "ms" is not used.
    need_gt: whether the reference H is required (training).

  Returns:
    (gt or None, lms, pan) with pan as (B, H, W, 1).

  Raises:
    ValueError: naming the missing key or the array with the wrong shape.
  """
  keys = ("gt", "lms", "pan") if need_gt else ("lms", "pan")
  missing = [k for k in keys if k not in batch]
  if missing:
    raise ValueError(f"batch is missing {missing} (has {sorted(batch)})")
  lms = jnp.asarray(batch["lms"])
  pan = jnp.asarray(batch["pan"])
  if lms.ndim != 4 or lms.shape[-1] != cfg.bands:
    raise ValueError(f"batch['lms']: expected (B, H, W, {cfg.bands}), got {lms.shape}")
  if pan.shape == lms.shape[:3]:
    pan = pan[..., None]
  if pan.shape != lms.shape[:3] + (1,):
    raise ValueError(f"batch['pan']: expected {lms.shape[:3] + (1,)} (the lms grid, one band), "
                     f"got {pan.shape}")
  gt = None
  if need_gt:
    gt = jnp.asarray(batch["gt"])
    if gt.shape != lms.shape:
      raise ValueError(f"batch['gt']: expected the lms shape {lms.shape}, got {gt.shape}")
  return gt, lms, pan


def batch_origin(batch: dict[str, Any], lms: jnp.ndarray) -> jnp.ndarray | None:
  """The batch's "origin" checked against its lms, or None when it has none.

  Args:
    batch: may hold "origin" (B, 2) int: each scene's top-left output pixel (row, col) in
      its product's grid (tiles of one scene: where the tile starts).
    lms: (B, H, W, C), the batch's lms.

  Returns:
    (B, 2) int32 or None.

  Raises:
    ValueError: an origin of another shape.
  """
  if batch.get("origin") is None:
    return None
  origin = jnp.asarray(batch["origin"])
  if origin.shape != (lms.shape[0], 2):
    raise ValueError(f"batch['origin']: expected ({lms.shape[0]}, 2) (row, col) per scene, "
                     f"got {origin.shape}")
  return origin.astype(jnp.int32)
