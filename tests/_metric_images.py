"""Test images shared by the metrics tests (digital numbers, H x W x C float64)."""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi


def random_image(rng, h, w, c, lo=100.0, hi=1800.0):
  """Independent uniform pixels in [lo, hi)."""
  return rng.uniform(lo, hi, size=(h, w, c))


def smooth_scene(rng, h, w, c, sigma=4.0):
  """Periodic smooth scene in [200, 1700] DN with correlated bands (Wald-consistent)."""
  base = ndi.gaussian_filter(rng.normal(size=(h, w)), sigma, mode="wrap")
  spec = ndi.gaussian_filter(rng.normal(size=(h, w, c)), (2 * sigma, 2 * sigma, 0), mode="wrap")
  x = base[..., None] * rng.uniform(0.8, 1.2, c) + 0.5 * spec / spec.std() * base.std()
  x = (x - x.min()) / (x.max() - x.min())
  return 200.0 + 1500.0 * x
