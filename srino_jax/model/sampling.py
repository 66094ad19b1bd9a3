"""Sampling with SRINO: the per-step denoiser closure and the full DDIM sampler.

`make_predict_x0` computes everything that depends only on (P, L) once (V, H^, the
per-layer fusion terms and the f_KE kernels) and returns the closure that the DDIM scan
calls at every step; the closure rebuilds Y_prev = L + x0_prev / s (s = the diffusion's
residual_scale, `cfg.diffusion.to_image`) and recomputes R_spa and R_spe from it
(closed-loop guidance).
`sample` draws x_T, runs `ddim_sample` and returns Y = L + X0_hat / s.

Keys: `sample` splits its key into (key_T, key_eta); x_T ~ N(0, 1) from key_T and the DDIM
noise (eta > 0 only) from key_eta. With eta = 0 the result depends on the key only
through x_T. When the batch holds "origin" (each scene's top-left pixel in its product's
grid) both noises are positional (`srino_jax.noise`): the noise at a pixel depends only on
the key and the pixel's place in the product, so a tile and the whole scene share it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from srino_jax.model.batch import batch_origin, unpack_batch
from srino_jax.model.config import ModelConfig
from srino_jax.model.denoiser import SRINO
from srino_jax.noise import positional_noise_fn
from srino_jax.sampler import OnStep, PredictX0, ddim_sample

__all__ = ["make_predict_x0", "sample"]


def make_predict_x0(cfg: ModelConfig, params: dict[str, Any], batch: dict[str, jnp.ndarray],
                    conds: dict[str, Any] | None = None) -> PredictX0:
  """The stage-2 denoiser as `predict_x0(x_t, t, x0_prev) -> x0_hat` for `ddim_sample`.

  Args:
    cfg: model configuration (its guidance mode decides which residuals are recomputed
      and whether gradient guidance corrects the estimate).
    params: the four parameter groups.
    batch: "lms" (B, H, W, C) and "pan" (B, H, W, 1) float32, sensor-max units.
    conds: `SRINO.conditions(pan, lms)` when already computed (default: computed here).

  Returns:
    predict_x0(x_t (B, H, W, C), t int32 scalar or (B,), x0_prev (B, H, W, C)) ->
    X0_hat (B, H, W, C). Y_prev = L + x0_prev / s (x0_prev = 0 at the first step gives L).
    For the "gradient" mode the returned X0_hat is already corrected. All x0 arrays are
    in the diffusion's units, s (H - L) with s = cfg.diffusion.residual_scale.
  """
  _, lms, pan = unpack_batch(cfg, batch, need_gt=False)
  model, variables = SRINO(cfg), {"params": params}
  mode = cfg.mode
  if conds is None:
    conds = model.apply(variables, pan, lms, method=SRINO.conditions)  # once per image
  diffusion = cfg.diffusion

  def m2p(img):
    return model.apply(variables, img, method=SRINO.pseudo_pan)

  def predict_x0(x_t, t, x0_prev):
    t = jnp.broadcast_to(jnp.asarray(t, jnp.int32), (x_t.shape[0],))
    y_prev = diffusion.to_image(x0_prev, lms)
    x0_hat = model.apply(variables, x_t, t, pan, lms, y_prev, conds,
                         method=SRINO.denoise_stage2)
    # Corrections act on the image-unit residual H - L (gradient guidance's alpha is in
    # sensor-max units whatever s is).
    corrected = mode.correct_x0(diffusion.to_image_units(x0_hat), pan, lms, m2p,
                                conds["kernels"], cfg.gradient_weight)
    return diffusion.from_image_units(corrected)

  return predict_x0


def sample(cfg: ModelConfig, params: dict[str, Any], batch: dict[str, jnp.ndarray],
           key: jax.Array, num_steps: int, eta: float, on_step: OnStep | None = None
           ) -> jnp.ndarray:
  """Pan-sharpens a batch with DDIM: Y = L + X0_hat / s (s = the diffusion's residual_scale).

  Jit with `jax.jit(sample, static_argnums=(0, 4, 5))`; vmap over `key` for several samples.
  A traced `eta` also works and gives the same result, but then the sampler cannot know
  that eta = 0 and draws (and multiplies by sigma = 0) a noise image at every step.

  Args:
    cfg: model configuration (static).
    params: the four parameter groups.
    batch: "lms" (B, H, W, C), "pan" (B, H, W, 1) float32 in sensor-max units; optional
      "origin" (B, 2) int32, each scene's top-left output pixel (row, col) in its
      product's grid: then x_T and the DDIM noise are `noise.positional_normal` fields of
      key_T and key_eta (shared by every scene of the batch), cropped at the origin.
      Without "origin" x_T = normal(key_T, (B, H, W, C)).
    key: PRNG key (x_T, and the DDIM noise when eta > 0).
    num_steps: DDIM steps (static; the run's config.diffusion.sample_steps).
    eta: DDIM stochasticity, 0 = deterministic given x_T.
    on_step: host callback after each DDIM step (`ddim_sample`'s), for progress.

  Returns:
    (B, H, W, C) float32 HRMS estimate in sensor-max units.
  """
  _, lms, _ = unpack_batch(cfg, batch, need_gt=False)
  key_t, key_eta = jax.random.split(key)
  origin = batch_origin(batch, lms)
  noise_fn = None if origin is None else positional_noise_fn(origin)
  x_T = (jax.random.normal if noise_fn is None else noise_fn)(key_t, lms.shape, lms.dtype)
  diffusion = cfg.diffusion
  predict_x0 = make_predict_x0(cfg, params, batch)
  x0 = ddim_sample(predict_x0, x_T, diffusion.alpha_bar, num_steps=num_steps, eta=eta,
                   key=key_eta, noise_fn=noise_fn, on_step=on_step)
  return diffusion.to_image(x0, lms)
