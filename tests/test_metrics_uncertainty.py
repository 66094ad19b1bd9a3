"""metrics.uncertainty against hand-computed values and its defining property."""

import math

import numpy as np
import pytest

from srino_jax.metrics.uncertainty import (conformal_scale, coverage, gaussian_scale,
                                           rank_correlation)


def test_coverage_and_the_conformal_rank_by_hand():
  err = np.array([1.0, -2.0, 3.0, 4.0])
  spread = np.array([1.0, 1.0, 1.0, 2.0])  # ratios 1, 2, 3, 2
  assert coverage(err, 2 * spread) == 0.75  # 1, 2, 4 within; 3 not
  # n = 4: level 0.5 -> rank ceil(5 * 0.5) = 3 of the sorted ratios (1, 2, 2, 3) = 2.
  assert conformal_scale(err, spread, 0.5) == 2.0
  assert conformal_scale(err, spread, 0.7) == 3.0   # rank ceil(3.5) = 4
  assert conformal_scale(err, spread, 0.9) == math.inf  # rank 5 > n: no finite bar
  assert gaussian_scale(0.9) == pytest.approx(1.6449, abs=1e-4)
  with pytest.raises(ValueError, match="level"):
    conformal_scale(err, spread, 1.0)


def test_the_conformal_bar_covers_new_exchangeable_errors_at_its_level():
  """Errors N(0, s^2) with a spread off by a factor 3: the raw bar under-covers, the
  conformal scale from one half restores the level on the other half."""
  rng = np.random.default_rng(0)
  s = rng.uniform(0.5, 2.0, 200_000)
  err = 3.0 * s * rng.standard_normal(s.size)
  cal, new = slice(0, 100_000), slice(100_000, None)
  assert coverage(err[new], gaussian_scale(0.9) * s[new]) < 0.45
  for level in (0.68, 0.9, 0.95):
    c = conformal_scale(err[cal], s[cal], level)
    assert coverage(err[new], c * s[new]) == pytest.approx(level, abs=0.01)
    assert c == pytest.approx(3.0 * gaussian_scale(level), rel=0.03)


def test_rank_correlation_is_spearmans_rho():
  a = np.arange(10.0)
  assert rank_correlation(a, a ** 3) == pytest.approx(1.0)
  assert rank_correlation(a, 10 - a) == pytest.approx(-1.0)
  assert rank_correlation(a, -a) == pytest.approx(1.0)  # |err|: the sign does not count
