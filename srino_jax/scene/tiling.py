"""Overlapping tiles aligned to the ratio, smooth blending weights, row-band accumulation.

Tiles are windows of the output (PAN) grid whose corners fall on MS pixel boundaries
(multiples of the ratio r). Neighbours overlap by M pixels; each tile's contribution is
weighted by a separable raised-cosine ramp across the overlap (1 elsewhere), and the sum is
divided by the summed weights, so the weights add up to 1 everywhere and no seam shows.

The output is produced tile row by tile row: once a tile row is fused, every output row
above the next tile row's top is final and is handed to the writer, so the accumulator holds
one band of rows (tile height x scene width), never the whole scene.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

__all__ = ["interp_margin", "tile_starts", "ramp", "tile_weights", "RowBands"]

_TAPS_PER_SIDE = 6  # interp23tap's half-band kernel reaches 6 input samples on each side


def interp_margin(ratio: int) -> int:
  """MS pixels of context on each side so interp23tap of a window equals the whole scene's.

  Pass p (p = 0 .. log2(r) - 1) runs on the grid upsampled 2^p times and reads 6 samples on
  either side (the sample between x[i] and x[i+1] uses x[i-5] .. x[i+6]), i.e. 6 / 2^p MS
  pixels; the reaches add up to at most 6 for r = 2, 9 for r = 4, 11 for r = 8 (an upper
  bound: the smallest exact margins, measured in tests/test_scene_tiling.py, are 6, 8, 10).
  """
  passes = int(ratio).bit_length() - 1
  return math.ceil(sum(_TAPS_PER_SIDE / 2 ** p for p in range(passes)))


def tile_starts(n: int, tile: int, overlap: int, ratio: int) -> list[int]:
  """Starts of the fewest tiles of `tile` pixels covering [0, n) with neighbours sharing at
  least `overlap` pixels, spread evenly (so every overlap is about the same).

  All tiles have the same size so a jitted model sees one shape; `tile`, `overlap` and n
  must be multiples of `ratio` (starts are too).
  """
  if tile >= n:
    return [0]
  if tile % ratio or overlap % ratio or n % ratio:
    raise ValueError(f"tile {tile}, overlap {overlap} and size {n} must be multiples of the "
                     f"ratio {ratio}")
  if not 0 <= overlap < tile:
    raise ValueError(f"overlap {overlap} must be >= 0 and smaller than the tile {tile}")
  k = -(-(n - tile) // (tile - overlap)) + 1
  # floor(i s) steps by at most ceil(s) <= (tile - overlap) / ratio units of the ratio.
  step = (n - tile) / ratio / (k - 1)
  return [int(math.floor(i * step + 1e-9)) * ratio for i in range(k)]


def ramp(length: int, rise: int, fall: int) -> np.ndarray:
  """1-D weights: raised cosine up over `rise` samples, 1, raised cosine down over `fall`.

  rise(i) = sin^2(pi (i + 1/2) / (2 M)) and the fall is 1 - rise over the same M samples, so
  a rising and a falling ramp over the same samples sum to 1; every weight is > 0.
  """
  w = np.ones(length)
  for m, sl in ((rise, slice(0, rise)), (fall, slice(length - fall, length))):
    if m:
      up = np.sin(np.pi * (np.arange(m) + 0.5) / (2 * m)) ** 2
      w[sl] = up if sl.start == 0 else up[::-1]
  return w


def tile_weights(starts: list[int], index: int, tile: int, n: int) -> np.ndarray:
  """Weights along one axis of tile `index` (length min(tile, n)), ramps where it overlaps."""
  size = min(tile, n)
  s = starts[index]
  rise = starts[index - 1] + size - s if index > 0 else 0
  fall = s + size - starts[index + 1] if index + 1 < len(starts) else 0
  return ramp(size, rise, fall)


class RowBands:
  """Accumulates weighted tiles and releases finished bands of output rows.

  Args:
    row_starts: tile row starts (`tile_starts` along the rows).
    tile_rows: tile height (rows of each tile).
    height, width: output size in pixels.
    channels: values per pixel accumulated (e.g. C bands, or 2 C for mean and std).
  """

  def __init__(self, row_starts: list[int], tile_rows: int, height: int, width: int,
               channels: int):
    self.row_starts, self.tile_rows = row_starts, min(tile_rows, height)
    self.height, self.width, self.channels = height, width, channels
    self.top = 0  # first output row not yet released
    self._sum = np.zeros((0, width, channels))
    self._weight = np.zeros((0, width))

  def begin_row(self, index: int) -> None:
    """Extends the buffer to cover tile row `index` (rows kept from the last band stay)."""
    bottom = self.row_starts[index] + self.tile_rows
    extra = bottom - self.top - len(self._sum)
    self._sum = np.concatenate([self._sum, np.zeros((extra, self.width, self.channels))])
    self._weight = np.concatenate([self._weight, np.zeros((extra, self.width))])

  def add(self, row0: int, col0: int, values: np.ndarray, weights: np.ndarray) -> None:
    """Adds (rows, cols, channels) `values` at output (row0, col0) with (rows, cols) weights."""
    r, c = weights.shape
    rs = slice(row0 - self.top, row0 - self.top + r)
    self._sum[rs, col0:col0 + c] += values * weights[..., None]
    self._weight[rs, col0:col0 + c] += weights

  def release(self, index: int) -> Iterator[tuple[int, np.ndarray]]:
    """After tile row `index`: yields (first row, blended (rows, W, channels)) of final rows."""
    last = index + 1 == len(self.row_starts)
    end = self.height if last else self.row_starts[index + 1]
    n = end - self.top
    if n > 0:
      yield self.top, self._sum[:n] / self._weight[:n, :, None]
      self._sum, self._weight = self._sum[n:], self._weight[n:]
      self.top = end
