"""Tests for srino_jax.noise: the noise of a window is the crop of the global noise field."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax.noise import positional_noise_fn, positional_normal

KEY = jax.random.key(7)


@pytest.mark.parametrize("block,origin,shape", [
    (16, (5, 37), (40, 24, 3)),    # spans cell boundaries in both directions
    (16, (16, 32), (32, 48, 1)),   # aligned to the cells
    (16, (70, 100), (1, 1, 4)),    # one pixel
    (64, (63, 1), (17, 65, 2)),    # starts on a cell's last row, wider than a cell
])
def test_window_is_the_crop_of_a_larger_window_at_origin_zero(block, origin, shape):
  h, w, c = shape
  big = np.asarray(positional_normal(KEY, (0, 0), (origin[0] + h + 9, origin[1] + w + 5, c),
                                     block))
  win = np.asarray(positional_normal(KEY, origin, shape, block))
  np.testing.assert_array_equal(win, big[origin[0]:origin[0] + h, origin[1]:origin[1] + w])


def test_overlapping_windows_agree_on_their_shared_pixels():
  a = np.asarray(positional_normal(KEY, (10, 20), (50, 50, 2), 16))
  b = np.asarray(positional_normal(KEY, (35, 41), (30, 60, 2), 16))
  # global rows 35..59, cols 41..69 are in both
  np.testing.assert_array_equal(a[25:50, 21:50], b[0:25, 0:29])


def test_the_value_at_a_pixel_is_its_cell_draw():
  """The formula itself: pixel (y, x) is normal(fold_in(fold_in(key, y // b), x // b))."""
  b, (y, x) = 16, (37, 70)
  cell = jax.random.normal(jax.random.fold_in(jax.random.fold_in(KEY, y // b), x // b),
                           (b, b, 3))
  win = positional_normal(KEY, (30, 66), (10, 10, 3), b)
  np.testing.assert_array_equal(win[y - 30, x - 66], cell[y % b, x % b])


def test_jit_with_traced_origin_equals_eager_and_compiles_once():
  f = jax.jit(lambda o: positional_normal(KEY, o, (40, 30, 2), 16))
  for origin in [(0, 0), (5, 37), (130, 3)]:
    np.testing.assert_array_equal(f(jnp.array(origin, jnp.int32)),
                                  positional_normal(KEY, origin, (40, 30, 2), 16))
  assert f._cache_size() == 1  # the origin is data, not a compile-time constant


def test_vmap_over_origins_and_the_batch_noise_fn():
  origins = jnp.array([[0, 0], [3, 9], [64, 65]], jnp.int32)
  many = positional_noise_fn(origins, 32)(KEY, (3, 20, 20, 2), jnp.float32)
  for o, got in zip(origins, many):
    np.testing.assert_array_equal(got, positional_normal(KEY, o, (20, 20, 2), 32))
  with pytest.raises(ValueError, match="B = 3"):
    positional_noise_fn(origins)(KEY, (2, 20, 20, 2), jnp.float32)


def test_standard_normal_statistics_and_uncorrelated_cells():
  z = np.asarray(positional_normal(KEY, (3, 5), (512, 512, 2), 64), np.float64)
  n = z.size
  assert abs(z.mean()) < 4 / np.sqrt(n)  # 4 standard errors
  assert abs(z.std() - 1) < 4 / np.sqrt(2 * n)
  # Two horizontally adjacent cells (global cells (1, 1) and (1, 2)): correlation ~ 0.
  a = z[61:125, 59:123].ravel()
  b = z[61:125, 123:187].ravel()
  assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(a.size)
  # Another key gives another field.
  other = np.asarray(positional_normal(jax.random.key(8), (3, 5), (64, 64, 2), 64))
  assert abs(np.corrcoef(other.ravel(), z[:64, :64].ravel())[0, 1]) < 0.1
