"""Is the spread of K samples an honest error bar? Coverage, rank correlation, and the
conformal scale that calibrates it (issue 16, item 6).

For a fused image m (the mean of K samples), its per-pixel spread s (their std) and the
ground truth g, the absolute error is e = |m - g| (per pixel and band). A spread is an
error bar of nominal level q with scale c when P(e <= c s) = q:

  coverage(e, c s)           the share of the e that lie within their bar
  rank_correlation(s, e)     Spearman's rho: does the spread rank the errors?
  conformal_scale(e, s, q)   c = the ceil((n + 1) q)-th smallest of e / s (split conformal
                             prediction): on data exchangeable with the calibration data,
                             P(e <= c s) >= q

A Gaussian reading of an uncalibrated spread takes c = z_q (1.645 for q = 0.90).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

__all__ = ["LEVELS", "coverage", "rank_correlation", "conformal_scale", "gaussian_scale"]

# Nominal levels reported (a 1-sigma, a 90 % and a 95 % bar).
LEVELS = (0.68, 0.90, 0.95)
_FLOOR = 1e-12  # a zero spread (identical samples) bounds only a zero error


def coverage(err, half_width) -> float:
  """Share of the errors within their bar: mean(|err| <= half_width); same shapes."""
  err, half_width = np.abs(np.asarray(err, np.float64)), np.asarray(half_width, np.float64)
  if err.shape != half_width.shape:
    raise ValueError(f"coverage: err {err.shape} and half_width {half_width.shape} differ")
  return float(np.mean(err <= half_width))


def rank_correlation(spread, err, max_points: int = 200_000, seed: int = 0) -> float:
  """Spearman's rank correlation between spread and |err| (a fixed random subset of at most
  `max_points` pixels, for speed)."""
  spread = np.asarray(spread, np.float64).ravel()
  err = np.abs(np.asarray(err, np.float64)).ravel()
  if spread.size > max_points:
    keep = np.random.default_rng(seed).choice(spread.size, max_points, replace=False)
    spread, err = spread[keep], err[keep]
  return float(scipy.stats.spearmanr(spread, err).statistic)


def conformal_scale(err, spread, level: float) -> float:
  """The split-conformal scale c of nominal `level`: the ceil((n + 1) level)-th smallest
  ratio |err| / spread over the n calibration values (inf when that rank exceeds n).

  Raises:
    ValueError: a level outside (0, 1), or shapes that differ.
  """
  if not 0.0 < level < 1.0:
    raise ValueError(f"level must be in (0, 1), got {level}")
  err, spread = np.abs(np.asarray(err, np.float64)), np.asarray(spread, np.float64)
  if err.shape != spread.shape:
    raise ValueError(f"conformal_scale: err {err.shape} and spread {spread.shape} differ")
  ratios = np.sort((err / np.maximum(spread, _FLOOR)).ravel())
  rank = math.ceil((ratios.size + 1) * level)
  return float(ratios[rank - 1]) if rank <= ratios.size else math.inf


def gaussian_scale(level: float) -> float:
  """z such that a Gaussian error lies within z sigma with probability `level`."""
  return float(scipy.stats.norm.ppf(0.5 + level / 2))
