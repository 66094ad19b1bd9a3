"""toolbox.interp: interp23tap against a slow transcription of interp23tap.m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srino_jax.toolbox.interp import interp23tap


def _interp23tap_reference(x: np.ndarray, ratio: int) -> np.ndarray:
  """Slow transcription of interp23tap.m's steps: zero insertion + circular 23-tap filter."""
  c = 2 * np.array([0.5, 0.305334091185, 0, -0.072698593239, 0, 0.021809577942, 0,
                    -0.005192756653, 0, 0.000807762146, 0, -0.000060081482])
  taps = np.concatenate([c[:0:-1], c])
  for step in range(int(math.log2(ratio))):
    r, w, b = x.shape
    u = np.zeros((2 * r, 2 * w, b))
    if step == 0:
      u[1::2, 1::2] = x  # MATLAB 2:2:end
    else:
      u[0::2, 0::2] = x  # MATLAB 1:2:end
    for axis in (1, 0):
      n = u.shape[axis]
      out = np.zeros_like(u)
      for m in range(n):
        acc = 0.0
        for t, coef in enumerate(taps):
          acc = acc + coef * np.take(u, (m + t - 11) % n, axis=axis)
        if axis == 0:
          out[m] = acc
        else:
          out[:, m] = acc
      u = out
    x = u
  return x


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_interp23tap_matches_reference_and_reproduces_input(ratio):
  rng = np.random.default_rng(ratio)
  x = rng.random((5, 7, 2)) * 2047
  y = interp23tap(x, ratio)
  assert y.shape == (5 * ratio, 7 * ratio, 2)
  np.testing.assert_allclose(y, _interp23tap_reference(x, ratio), rtol=0, atol=1e-9)
  # Input pixel i sits at output pixel ratio*i + ratio//2 (0-based): exact reproduction.
  np.testing.assert_allclose(y[ratio // 2::ratio, ratio // 2::ratio], x, rtol=0, atol=1e-10)


def test_interp23tap_constant_and_2d_input():
  # The odd taps sum to 0.4999999998 per side (4.04e-10 short of 1 per 1-D pass), so after
  # four 1-D passes a constant c is kept within c (1 - (1 - 4.04e-10)^4) = 1.6e-9 c.
  y = interp23tap(np.full((6, 6), 1000.0), 4)
  assert y.shape == (24, 24, 1)
  np.testing.assert_allclose(y, 1000.0, rtol=1.7e-9)
  assert y.max() == 1000.0  # the input samples themselves are untouched


def test_interp23tap_bad_ratio():
  for bad in (3, 6, 1, 0):
    with pytest.raises(ValueError, match="power of two"):
      interp23tap(np.zeros((4, 4, 1)), bad)


# ---------------------------------------------------------------- imresize
