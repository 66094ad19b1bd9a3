"""SRINO's training losses as pure functions `loss(cfg, params, batch, key) -> (loss, metrics)`.

Every loss takes the same four arguments (the aux loss ignores its key), so one train-step
factory and one validation serve every stage (`srino_jax.training.stages`). All losses are
L1 means over the whole batch (so a batch sharded over devices gives the same value), with
per-example diffusion steps t ~ U{0..T-1} and noise eps ~ N(0, 1) on the residual
X0 = s (H - L) (the denoiser predicts X0 directly; s = cfg.diffusion.residual_scale, 1 in
the paper; `cfg.diffusion` owns the schedule and the conversions). The diffusion L1s are reported in
sensor-max units, mean |X0_hat / s - (H - L)| (Adam is invariant to the constant factor,
so this only makes the numbers comparable):

- `aux_loss`: |f_M2P(H) - P| + |f_KE([P, L]) * H - L|, trains f_M2P and f_KE.
- `stage1_loss`: |G(X_t, H, t) - X0|, trains the backbone with the reference as condition.
- `stage2_loss`: the TGA-guided denoiser, condition H^ built from (P, L). Two passes on
  the same (X_t, t): pass 1 with Y_prev = L (what the sampler meets at its first step),
  pass 2 with Y_prev = L + stop_gradient(pass-1 X0_hat) / s (what it meets at every later
  step, as in self-conditioning). loss = (L1_pass1 + L1_pass2) / 2, so both situations are
  trained. Modes without residuals (none, gradient) do not depend on Y_prev: their two
  passes would be identical, so only one is run and loss = L1_pass1.

Which parameters move is the optimizer's business (`training.optim.make_optimizer`):
the losses are differentiable in every group and freeze nothing themselves.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from srino_jax.guidance import apply_kernel
from srino_jax.model.batch import unpack_batch
from srino_jax.model.config import ModelConfig
from srino_jax.model.denoiser import SRINO

__all__ = ["aux_loss", "stage1_loss", "stage2_loss", "noisy_residual"]

Metrics = dict[str, jnp.ndarray]


def _l1(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  return jnp.mean(jnp.abs(a - b))


def noisy_residual(cfg: ModelConfig, gt: jnp.ndarray, lms: jnp.ndarray, key: jax.Array
                   ) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
  """Draws t ~ U{0..T-1} per example and noise, returns (x0, x_t, t).

  x0 = s (gt - lms) (B, H, W, C), s = cfg.diffusion.residual_scale; x_t = q_sample(x0, t, eps)
  (B, H, W, C); t (B,) int32.
  """
  diffusion = cfg.diffusion
  x0 = diffusion.to_x0(gt, lms)
  x_t, t = diffusion.noisy(x0, key)
  return x0, x_t, t


def aux_loss(cfg: ModelConfig, params: dict[str, Any], batch: dict[str, jnp.ndarray],
             key: jax.Array | None = None) -> tuple[jnp.ndarray, Metrics]:
  """L1 losses of the auxiliary networks on (H, P, L); `key` is unused (no noise).

  Returns:
    (loss, metrics) with loss = m2p_l1 + ke_l1, m2p_l1 = mean |f_M2P(H) - P| and
    ke_l1 = mean |f_KE([P, L]) * H - L| (correlation with edge padding).
  """
  gt, lms, pan = unpack_batch(cfg, batch, need_gt=True)
  model, variables = SRINO(cfg), {"params": params}
  m2p_l1 = _l1(model.apply(variables, gt, method=SRINO.pseudo_pan), pan)
  kernels = model.apply(variables, pan, lms, method=SRINO.kernels)
  ke_l1 = _l1(apply_kernel(gt, kernels), lms)
  loss = m2p_l1 + ke_l1
  return loss, {"loss": loss, "m2p_l1": m2p_l1, "ke_l1": ke_l1}


def stage1_loss(cfg: ModelConfig, params: dict[str, Any], batch: dict[str, jnp.ndarray],
                key: jax.Array) -> tuple[jnp.ndarray, Metrics]:
  """Stage 1: L1 between X0 = H - L and G(X_t, H, t) (condition = the reference H).

  Returns:
    (loss, {"loss", "l1"}), scalars.
  """
  gt, lms, _ = unpack_batch(cfg, batch, need_gt=True)
  x0, x_t, t = noisy_residual(cfg, gt, lms, key)
  x0_hat = SRINO(cfg).apply({"params": params}, x_t, gt, t, lms, method=SRINO.denoise_stage1)
  l1 = cfg.diffusion.to_image_units(_l1(x0_hat, x0))
  return l1, {"loss": l1, "l1": l1}


def stage2_loss(cfg: ModelConfig, params: dict[str, Any], batch: dict[str, jnp.ndarray],
                key: jax.Array) -> tuple[jnp.ndarray, Metrics]:
  """Stage 2: the TGA-guided denoiser, two passes (Y_prev = L, then self-conditioned).

  Returns:
    (loss, metrics): "loss"; "l1_first" (pass 1, Y_prev = L); "l1_self" (pass 2,
    Y_prev = L + sg(pass-1 X0_hat); equal to l1_first for modes without residuals);
    "hhat_l1" = mean |H^ - H|, a diagnostic of the pseudo-HRMS (not part of the loss).
  """
  gt, lms, pan = unpack_batch(cfg, batch, need_gt=True)
  x0, x_t, t = noisy_residual(cfg, gt, lms, key)
  model, variables = SRINO(cfg), {"params": params}
  conds = model.apply(variables, pan, lms, method=SRINO.conditions)

  def denoise(y_prev):
    return model.apply(variables, x_t, t, pan, lms, y_prev, conds, method=SRINO.denoise_stage2)

  diffusion = cfg.diffusion
  x0_first = denoise(lms)
  l1_first = diffusion.to_image_units(_l1(x0_first, x0))
  if cfg.mode.uses_residuals:
    y_prev = diffusion.to_image(jax.lax.stop_gradient(x0_first), lms)  # what step 2 meets
    l1_self = diffusion.to_image_units(_l1(denoise(y_prev), x0))
    loss = 0.5 * (l1_first + l1_self)
  else:  # no residuals: pass 2 would repeat pass 1 exactly
    l1_self = loss = l1_first
  hhat_l1 = jax.lax.stop_gradient(_l1(conds["hhat"], gt))
  return loss, {"loss": loss, "l1_first": l1_first, "l1_self": l1_self, "hhat_l1": hhat_l1}
