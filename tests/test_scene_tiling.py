"""Tile grid, blending weights and row-band streaming of srino_jax.scene.tiling."""

import numpy as np
import pytest

from srino_jax.scene import tiling
from srino_jax.toolbox.interp import interp23tap


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_interp_margin_makes_window_lms_exact_and_is_tight(ratio):
  rng = np.random.default_rng(ratio)
  ms = rng.normal(size=(40, 44, 2))
  whole = interp23tap(ms, ratio)
  m = tiling.interp_margin(ratio)
  assert m == {2: 6, 4: 9, 8: 11}[ratio]  # 6 + 3 + 1.5 taps of reach, rounded up
  r0, r1, c0, c1 = 15, 25, 14, 30  # an interior window of MS pixels

  def window_lms(margin):
    win = interp23tap(ms[r0 - margin:r1 + margin, c0 - margin:c1 + margin], ratio)
    k = margin * ratio
    return win[k:k + (r1 - r0) * ratio, k:k + (c1 - c0) * ratio]

  ref = whole[r0 * ratio:r1 * ratio, c0 * ratio:c1 * ratio]
  np.testing.assert_allclose(window_lms(m), ref, rtol=0, atol=1e-14)
  # The bound is at most one pixel above the smallest exact margin.
  smallest = next(k for k in range(1, m + 1)
                  if np.abs(window_lms(k) - ref).max() < 1e-14)
  assert m - 1 <= smallest <= m
  assert np.abs(window_lms(smallest - 1) - ref).max() > 1e-14  # the outer taps are tiny


def test_tile_starts_cover_with_the_overlap_and_one_size():
  starts = tiling.tile_starts(1000, 256, 64, 4)
  assert starts[0] == 0 and starts[-1] + 256 == 1000
  assert all(b - a <= 256 - 64 for a, b in zip(starts, starts[1:]))
  assert all(s % 4 == 0 for s in starts) and len(starts) == 5  # fewest: ceil(744 / 192) + 1
  assert tiling.tile_starts(200, 256, 64, 4) == [0]
  with pytest.raises(ValueError, match="multiples of the ratio"):
    tiling.tile_starts(1000, 250, 64, 4)


def test_ramp_rise_and_fall_over_the_same_samples_sum_to_one():
  up = tiling.ramp(100, 40, 0)[:40]
  down = tiling.ramp(100, 0, 40)[-40:]
  np.testing.assert_allclose(up + down, 1.0, atol=1e-15)
  assert (up > 0).all() and np.all(np.diff(up) > 0)
  np.testing.assert_array_equal(tiling.ramp(100, 40, 40)[40:60], 1.0)


@pytest.mark.parametrize("n,tile,overlap", [(1000, 256, 64), (520, 128, 32), (96, 256, 64)])
def test_weights_of_all_tiles_sum_to_one(n, tile, overlap):
  starts = tiling.tile_starts(n, tile, overlap, 4)
  total = np.zeros(n)
  for i, s in enumerate(starts):
    total[s:s + min(tile, n)] += tiling.tile_weights(starts, i, tile, n)
  np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_row_bands_reassemble_an_image_from_overlapping_tiles():
  rng = np.random.default_rng(0)
  img = rng.normal(size=(200, 168, 3))
  rows = tiling.tile_starts(200, 64, 16, 4)
  cols = tiling.tile_starts(168, 64, 16, 4)
  acc = tiling.RowBands(rows, 64, 200, 168, 3)
  out, buffered = np.full_like(img, np.nan), []
  for ri, y0 in enumerate(rows):
    acc.begin_row(ri)
    wy = tiling.tile_weights(rows, ri, 64, 200)
    for ci, x0 in enumerate(cols):
      w = wy[:, None] * tiling.tile_weights(cols, ci, 64, 168)[None]
      acc.add(y0, x0, img[y0:y0 + 64, x0:x0 + 64], w)
    buffered.append(len(acc._sum))
    for top, block in acc.release(ri):
      assert np.isnan(out[top:top + len(block)]).all()  # each row released once
      out[top:top + len(block)] = block
  np.testing.assert_allclose(out, img, rtol=0, atol=1e-12)
  assert max(buffered) <= 64  # never more than one tile height of rows held
