"""The SRINO model: the operator backbone, the Triple Guidance Adapter, f_M2P and f_KE.

One flax module owns the four parameter groups, named so that `params` has exactly the
top-level keys "backbone", "tga", "m2p" and "ke" (the groups `training.optim` freezes per
stage). Its methods are the pieces the losses and the sampler call through `apply(...,
method=...)`; none stores anything.

Stage-2 forward (one denoiser call, Y_prev = L + previous X0_hat / s, s = residual_scale):

  conds  = conditions(P, L)           once per image: V, H^ = Conv3x3(V) + L, Conv3x3_V^l(V),
                                      f_KE kernels
  R_spa  = P - f_M2P(Y_prev)          if the mode has the spatial branch
  R_spe  = KE * Y_prev - L            if the mode has the spectral branch
  h, temb = P_in(x_t, H^, t)          ([H^, L] with cfg.condition_lms)
  for l: h = M_l(TGA_l(h, V, R_spa, R_spe), temb)
  X0_hat = P_out(h)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.guidance import (KENet, M2PNet, TripleGuidanceAdapter, spatial_residual,
                                spectral_residual)
from srino_jax.model.config import ModelConfig
from srino_jax.operator import BACKBONES, make_backbone

__all__ = ["SRINO", "build_backbone", "init_params"]


def build_backbone(cfg: ModelConfig) -> nn.Module:
  """The backbone named by `cfg.backbone`, given the config fields it declares."""
  fields = {f.name for f in dataclasses.fields(BACKBONES[cfg.backbone])}
  kwargs = {name: getattr(cfg, name)
            for name in ("width", "depth", "heads", "ffn_ratio", "fno_modes", "local_operators",
                         "stem_blocks") if name in fields}
  return make_backbone(cfg.backbone, out_channels=cfg.bands, **kwargs)


class SRINO(nn.Module):
  """The whole model; see the module docstring.

  Attributes:
    cfg: the model configuration (its `guidance` picks the TGA branches).
  """

  cfg: ModelConfig

  def setup(self):
    cfg = self.cfg
    mode = cfg.mode
    self.backbone = build_backbone(cfg)
    self.tga = TripleGuidanceAdapter(cfg.bands, cfg.width, cfg.depth, cfg.adapter_width,
                                     spatial=mode.spatial, spectral=mode.spectral)
    self.m2p = M2PNet(max(cfg.adapter_width // 2, 4))  # runs on Y_prev every step: kept small
    self.ke = KENet(cfg.bands, cfg.kernel_size, cfg.adapter_width, sensor=cfg.sensor)

  def backbone_condition(self, cond: jnp.ndarray, lms: jnp.ndarray) -> jnp.ndarray:
    """The condition slot: cond (H or H^), or [cond, L] when `cfg.condition_lms`."""
    return jnp.concatenate([cond, lms], axis=-1) if self.cfg.condition_lms else cond

  def denoise_stage1(self, x_t: jnp.ndarray, cond: jnp.ndarray, t: jnp.ndarray,
                     lms: jnp.ndarray | None = None) -> jnp.ndarray:
    """Stage-1 denoiser G_theta(X_t, H, t): (B, H, W, C) X0_hat from the reference H.

    `lms` (B, H, W, C) is required when `cfg.condition_lms` (the condition is [H, L]).
    """
    return self.backbone(x_t, self.backbone_condition(cond, lms), t)

  def pseudo_pan(self, ms: jnp.ndarray) -> jnp.ndarray:
    """f_M2P: (B, H, W, C) -> (B, H, W, 1)."""
    return self.m2p(ms)

  def kernels(self, pan: jnp.ndarray, lms: jnp.ndarray) -> jnp.ndarray:
    """f_KE([P, L]): (B, k, k, C) softmax-normalised kernels."""
    return self.ke(pan, lms)

  def conditions(self, pan: jnp.ndarray, lms: jnp.ndarray) -> dict[str, Any]:
    """Step-independent stage-2 conditions of one batch (computed once per image).

    Args:
      pan: (B, H, W, 1) float32; lms: (B, H, W, C) float32.

    Returns:
      dict: "v" (B, H, W, a), "hhat" (B, H, W, C) pseudo-HRMS, "fused_v" tuple of depth
      (B, H, W, d), "kernels" (B, k, k, C).
    """
    conds = self.tga.encode(pan, lms, self.m2p(lms))  # V = Phi([P, L, P - f_M2P(L)])
    conds["kernels"] = self.ke(pan, lms)
    return conds

  def denoise_stage2(self, x_t: jnp.ndarray, t: jnp.ndarray, pan: jnp.ndarray,
                     lms: jnp.ndarray, y_prev: jnp.ndarray,
                     conds: dict[str, Any]) -> jnp.ndarray:
    """Stage-2 denoiser with the TGA injected before every operator layer.

    Args:
      x_t: (B, H, W, C) noisy residual; t: (B,) int32 training steps.
      pan: (B, H, W, 1); lms: (B, H, W, C) L.
      y_prev: (B, H, W, C) current estimate L + X0_hat_prev (L at the first step).
      conds: `conditions(pan, lms)`.

    Returns:
      (B, H, W, C) X0_hat.
    """
    mode = self.cfg.mode
    r_spa = spatial_residual(pan, y_prev, self.m2p) if mode.spatial else None
    r_spe = spectral_residual(pan, lms, y_prev, conds["kernels"]) if mode.spectral else None
    h, temb = self.backbone.lift(x_t, self.backbone_condition(conds["hhat"], lms), t)  # <- H^
    for l in range(self.cfg.depth):
      h = self.tga.inject(l, h, conds["fused_v"][l], r_spa, r_spe)
      h = self.backbone.layer(l, h, temb)
    return self.backbone.project(h)

  def __call__(self, x_t: jnp.ndarray, t: jnp.ndarray, pan: jnp.ndarray,
               lms: jnp.ndarray) -> jnp.ndarray:
    """Stage-2 forward at the first sampling step (Y_prev = L); touches every parameter."""
    conds = self.conditions(pan, lms)
    return self.denoise_stage2(x_t, t, pan, lms, lms, conds)


def init_params(cfg: ModelConfig, key, pan_size: int = 64) -> dict[str, Any]:
  """Initial parameters of every group.

  Args:
    cfg: model configuration.
    key: PRNG key.
    pan_size: side of the dummy PAN grid used for shape inference (the convolutional and
      operator parameters do not depend on it).

  Returns:
    dict with exactly the keys "backbone", "tga", "m2p", "ke" (the inner 'params'
    collection, no wrapper), float32 leaves.
  """
  import jax  # local: keeps the module header about the model

  if pan_size < 8:
    raise ValueError(f"init_params: pan_size must be >= 8, got {pan_size}")
  x = jnp.zeros((1, pan_size, pan_size, cfg.bands), jnp.float32)
  pan = jnp.zeros((1, pan_size, pan_size, 1), jnp.float32)
  t = jnp.zeros((1,), jnp.int32)
  model = SRINO(cfg)
  # The non-partitionable threefry lowering compiles the ~100 per-leaf random draws about
  # 2.5x faster on CPU (measured: 9 s -> 3.7 s for a tiny model); parameters are still a
  # deterministic function of `key`, and unsharded initialisation loses nothing.
  with jax.threefry_partitionable(False):
    variables = jax.jit(model.init)({"params": key}, x, t, pan, x)
  params = {name: jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), dict(group))
            for name, group in variables["params"].items()}
  if set(params) != {"backbone", "tga", "m2p", "ke"}:
    raise AssertionError(f"unexpected parameter groups {sorted(params)}")
  return params
