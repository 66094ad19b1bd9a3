"""Inputs and reference indices shared by the baseline tests (digital numbers)."""

from __future__ import annotations

import numpy as np

from srino_jax.baselines import available_methods

ALL = available_methods()


def ergas_ref(gt, out, ratio=4):
  """ERGAS written out (per-band RMSE over mean, in %/ratio)."""
  mse = ((gt - out) ** 2).mean(axis=(0, 1))
  return 100.0 / ratio * np.sqrt(np.mean(mse / gt.mean(axis=(0, 1)) ** 2))


def sam_ref(gt, out):
  """Mean spectral angle in degrees over pixels with non-zero norms."""
  dot = (gt * out).sum(-1)
  norm = np.linalg.norm(gt, axis=-1) * np.linalg.norm(out, axis=-1)
  keep = norm > 0
  return np.degrees(np.mean(np.arccos(np.clip(dot[keep] / norm[keep], -1, 1))))


def random_pair(seed, h=24, bands=8):
  """(h, h, bands) MS and (4h, 4h, 1) PAN, uniform in [200, 900)."""
  rng = np.random.default_rng(seed)
  ms_lr = rng.uniform(200, 900, (h, h, bands))
  pan = rng.uniform(200, 900, (4 * h, 4 * h, 1))
  return ms_lr, pan


def ramp_pan(size):
  """A linear ramp PAN (size x size x 1)."""
  yy, xx = np.mgrid[:size, :size].astype(float)
  return (300.0 + 2.0 * yy + 1.3 * xx)[..., None]
