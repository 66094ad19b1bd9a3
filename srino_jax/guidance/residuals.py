"""Spatial and spectral consistency residuals of SRINO's closed-loop guidance (pure math).

SRINO (CVPR 2026, "Triple Guidance Adapter") feeds two pixel-level residuals of the current
estimate Y_prev = L + X0_hat into every operator layer of the frozen denoiser:

  spatial  R_spa = P - f_M2P(Y_prev)                 (B, H, W, 1)   what PAN detail is missing
  spectral R_spe = (f_KE([P, L]) * Y_prev) - L       (B, H, W, C)   how far the blurred estimate
                                                                    is from the observed LRMS

and gates the spectral one with a channel attention w = sigmoid(MLP([GAP, GMP])). Everything
here is a pure function of arrays and callables, so the same code serves training, sampling
and the tests; the parameters live in the thin flax wrappers of `networks.py` / `adapters.py`.

Kernel convention (`apply_kernel`): 2-D *correlation* (as MATLAB's `imfilter` and
`scipy.ndimage.correlate`), one 11 x 11 kernel per image and per band, the kernel centre
(index k // 2) being the origin, with *edge* (replicate) padding: the border pixel is
repeated, as `imfilter(..., 'replicate')` / `scipy.ndimage.correlate(mode="nearest")` and
the toolbox's MTF filtering do. Softmax kernels are non-negative and sum to one, so a flat
image stays flat up to the border as well.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

__all__ = ["apply_kernel", "spatial_residual", "spectral_residual", "channel_gate",
           "gated_features"]


def _check_nhwc(x: jnp.ndarray, name: str, channels: int | None = None) -> None:
  if x.ndim != 4:
    raise ValueError(f"{name}: expected a (B, H, W, C) array, got shape {x.shape}")
  if channels is not None and x.shape[-1] != channels:
    raise ValueError(f"{name}: expected {channels} channels, got shape {x.shape}")


def apply_kernel(img: jnp.ndarray, kernels: jnp.ndarray) -> jnp.ndarray:
  """Per-image, per-band 2-D correlation with edge (replicate) padding.

  out[b, i, j, c] = sum_{u, v} kernels[b, u, v, c] * img_pad[b, i + u, j + v, c], where
  img_pad repeats the border pixels k // 2 times on each side: the same as
  `scipy.ndimage.correlate(img[b, ..., c], kernels[b, ..., c], mode="nearest")`.

  Computed with real FFTs of the padded image and kernels (every image uses its own
  kernels). On CPU this is ~10x faster than the equivalent grouped (depthwise)
  convolution forward and ~20x in the gradient (measured at 256 x 256 x 8 and for a
  batch of 32 patches of 64 x 64); the price is float32 FFT round-off, about 1e-6 times
  the image magnitude (a delta kernel reproduces the image to ~1e-7 on [0, 1] data).

  Args:
    img: (B, H, W, C) float32 image, any units (the operation is linear).
    kernels: (B, k, k, C) float32, odd k (SRINO: k = 11, softmax-normalised per band).
      A (k, k, C) array is broadcast over the batch.

  Returns:
    (B, H, W, C) float32, same dtype as img.
  """
  _check_nhwc(img, "apply_kernel img")
  if kernels.ndim == 3:
    kernels = jnp.broadcast_to(kernels[None], (img.shape[0],) + kernels.shape)
  b, h, w, c = img.shape
  if kernels.ndim != 4 or kernels.shape[0] != b or kernels.shape[3] != c:
    raise ValueError(f"apply_kernel kernels: expected shape ({b}, k, k, {c}) for img "
                     f"{img.shape}, got {kernels.shape}")
  kh, kw = kernels.shape[1:3]
  if kh % 2 == 0 or kw % 2 == 0:
    raise ValueError(f"apply_kernel kernels: odd sizes needed (centre = origin), got {kh}x{kw}")
  padded = jnp.pad(img, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)), mode="edge")
  size = padded.shape[1:3]
  # Correlation = circular convolution with the flipped kernel, by real FFTs over (H, W).
  # The padded image is large enough that the kept window never wraps around.
  spectrum = (jnp.fft.rfft2(padded, axes=(1, 2))
              * jnp.fft.rfft2(kernels[:, ::-1, ::-1, :].astype(img.dtype), s=size, axes=(1, 2)))
  full = jnp.fft.irfft2(spectrum, s=size, axes=(1, 2))
  return full[:, kh - 1:kh - 1 + h, kw - 1:kw - 1 + w, :].astype(img.dtype)


def spatial_residual(pan: jnp.ndarray, y_prev: jnp.ndarray,
                     m2p: Callable[[jnp.ndarray], jnp.ndarray]) -> jnp.ndarray:
  """Spatial consistency residual R_spa = P - f_M2P(Y_prev) (SRINO, TGA spatial branch).

  Args:
    pan: (B, H, W, 1) float32 PAN, in units of the sensor max (about [0, 1]).
    y_prev: (B, H, W, C) float32 current HRMS estimate L + X0_hat (L at the first step).
    m2p: callable (B, H, W, C) -> (B, H, W, 1) pseudo-PAN, e.g. the bound f_M2P network.

  Returns:
    (B, H, W, 1) float32; zero where the pseudo-PAN of the estimate matches the PAN.
  """
  _check_nhwc(pan, "spatial_residual pan", 1)
  _check_nhwc(y_prev, "spatial_residual y_prev")
  pseudo = m2p(y_prev)
  if pseudo.shape != pan.shape:
    raise ValueError(f"spatial_residual: m2p(y_prev) has shape {pseudo.shape}, "
                     f"the PAN {pan.shape}")
  return pan - pseudo


def spectral_residual(pan: jnp.ndarray, lms: jnp.ndarray, y_prev: jnp.ndarray,
                      kernels: jnp.ndarray) -> jnp.ndarray:
  """Spectral consistency residual R_spe = (f_KE([P, L]) * Y_prev) - L (TGA spectral branch).

  The call form `spectral_residual(pan, lms, y_prev, kernels)` is the one issue 4 named and
  scripts use; P enters R_spe only through the kernels f_KE([P, L]), which the caller
  computes once per image, so `pan` is checked for its grid but not otherwise read.

  Args:
    pan: (B, H, W, 1) float32 PAN (on the grid of `lms`).
    lms: (B, H, W, C) float32 upsampled MS L.
    y_prev: (B, H, W, C) float32 current estimate L + X0_hat.
    kernels: the blur kernels f_KE([P, L]), (B, k, k, C) (or (k, k, C)). They depend on P
      and L only, not on the step, so the sampler computes them once per image.

  Returns:
    (B, H, W, C) float32 = apply_kernel(y_prev, kernels) - lms (correlation, edge padding).
  """
  _check_nhwc(lms, "spectral_residual lms")
  if y_prev.shape != lms.shape:
    raise ValueError(f"spectral_residual: y_prev shape {y_prev.shape} differs from lms "
                     f"{lms.shape}")
  if pan.shape[:3] != lms.shape[:3]:
    raise ValueError(f"spectral_residual: pan shape {pan.shape} is not on the grid of lms "
                     f"{lms.shape}")
  return apply_kernel(y_prev, kernels) - lms


def channel_gate(feat: jnp.ndarray, mlp: Callable[[jnp.ndarray], jnp.ndarray]) -> jnp.ndarray:
  """Channel attention weights w = sigmoid(MLP([GAP(feat), GMP(feat)])) (TGA spectral gate).

  Args:
    feat: (B, H, W, D) float32 features of the projected spectral residual.
    mlp: callable (B, 2 D) -> (B, D) (global average and max pools, concatenated).

  Returns:
    (B, 1, 1, D) float32 in (0, 1), one weight per image and channel.
  """
  _check_nhwc(feat, "channel_gate feat")
  pooled = jnp.concatenate([jnp.mean(feat, axis=(1, 2)), jnp.max(feat, axis=(1, 2))], axis=-1)
  return jax.nn.sigmoid(mlp(pooled))[:, None, None, :]


def gated_features(feat: jnp.ndarray, mlp: Callable[[jnp.ndarray], jnp.ndarray]) -> jnp.ndarray:
  """w * feat with w = channel_gate(feat, mlp): (B, H, W, D); zero features stay zero."""
  return channel_gate(feat, mlp) * feat
