"""Memory budget: parse sizes, estimate a fusion's peak memory, choose whole or tiled.

The estimate is a linear model: a fixed base (Python, JAX, GDAL) plus the method's working
memory per fused pixel (`SceneMethod.bytes_per_pixel`, measured by benchmarks/scene.py) plus
the row-band accumulator (tile height x scene width x channels, float64).
"""

from __future__ import annotations

import dataclasses
import os
import re

__all__ = ["parse_size", "default_budget", "Plan", "plan_fusion", "format_bytes"]

BASE_BYTES = 450e6  # interpreter + jax + rasterio, measured VmHWM of a 64^2 exp run
GDAL_CACHE_BYTES = 128 * 2 ** 20  # fuse.GDAL_CACHE_MB: GDAL's block cache while writing
_UNITS = {"": 1, "B": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def parse_size(text: str) -> int:
  """'2G', '512M', '1.5g', '3000000' -> bytes (binary units)."""
  m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgtKMGT]?)[iI]?[bB]?\s*", str(text))
  if not m:
    raise ValueError(f"--max-memory {text!r}: expected a size such as 2G, 512M or 1.5G")
  return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def format_bytes(n: float) -> str:
  for unit in ("B", "KiB", "MiB", "GiB"):
    if n < 1024 or unit == "GiB":
      return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
    n /= 1024
  return f"{n:.2f} GiB"


def default_budget() -> int:
  """4 GiB, or half the available memory when less is available."""
  try:
    pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return 4 * 2 ** 30
  return int(min(4 * 2 ** 30, pages / 2))


@dataclasses.dataclass(frozen=True)
class Plan:
  """How a scene will be fused.

  Attributes:
    tile_rows, tile_cols: tile size in output pixels (the scene size when whole).
    overlap: output pixels shared by neighbouring tiles.
    tiles: number of tiles.
    peak_bytes: estimated peak memory.
    seconds: estimated fusion time.
  """

  tile_rows: int
  tile_cols: int
  overlap: int
  tiles: int
  peak_bytes: float
  seconds: float

  @property
  def whole(self) -> bool:
    return self.tiles == 1


def _estimate(method, tile_r: int, tile_c: int, width: int, channels: int) -> float:
  halo = 2 * method.halo
  work = method.bytes_per_pixel * (tile_r + halo) * (tile_c + halo)
  band = 8.0 * (tile_r * width * (channels + 1)) * 2  # sums + the band being released
  return BASE_BYTES + GDAL_CACHE_BYTES + work + band


def _count(n: int, tile: int, overlap: int) -> int:
  return 1 if tile >= n else -(-(n - tile) // (tile - overlap)) + 1


def _fit(n: int, tile: int, overlap: int, step: int) -> int:
  """The smallest tile (a multiple of `step`, at most `tile`) that covers n with as few
  tiles as `tile` needs: 4 tiles of 1376 over 4096 become 4 of 1072 (a third less work)."""
  if tile >= n:
    return n
  k = _count(n, tile, overlap)
  return min(tile, -(-(n + (k - 1) * overlap) // (k * step)) * step)


def plan_fusion(method, height: int, width: int, ratio: int, budget: int,
                tile: int | None = None, overlap: int = 64) -> Plan:
  """Whole scene when it fits `budget` (and no tile is forced), else the largest square
  tile (a multiple of 8 r) that fits, shrunk per axis to the smallest that covers the scene
  with as many tiles (`_fit`).

  Raises:
    ValueError: even the smallest tile does not fit the budget.
  """
  channels = method.sensor.bands * (2 if method.samples > 1 else 1)
  unit = 8 * ratio
  overlap = -(-overlap // ratio) * ratio  # whole MS pixels
  forced = tile is not None
  if tile is None and _estimate(method, height, width, width, channels) <= budget:
    tr, tc = height, width
  else:
    if tile is None:
      tile = unit
      while (tile + unit < max(height, width) and
             _estimate(method, tile + unit, tile + unit, width, channels) <= budget):
        tile += unit
      need = _estimate(method, tile, tile, width, channels)
      if need > budget:
        raise ValueError(f"{method.name}: even a {tile} x {tile} tile needs about "
                         f"{format_bytes(need)}, more than --max-memory {format_bytes(budget)}")
    step = ratio if forced else unit
    tile = max(step, tile // step * step)
    if overlap >= tile:
      raise ValueError(f"--overlap {overlap} must be smaller than the tile {tile}")
    tr, tc = _fit(height, tile, overlap, step), _fit(width, tile, overlap, step)
  peak = _estimate(method, tr, tc, width, channels)
  if peak > budget:
    raise ValueError(f"{method.name}: a {tr} x {tc} tile needs about {format_bytes(peak)}, "
                     f"more than --max-memory {format_bytes(budget)}")
  n = _count(height, tr, overlap) * _count(width, tc, overlap)
  px = n * (tr + 2 * method.halo) * (tc + 2 * method.halo) if n > 1 else height * width
  return Plan(tr, tc, overlap, n, peak, px * method.seconds_per_pixel)
