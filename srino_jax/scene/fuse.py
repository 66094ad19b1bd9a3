"""Fuses a PAN + MS GeoTIFF pair into a GeoTIFF, whole or in streamed tiles.

Per tile: read the PAN window (plus the method's halo) and the MS window plus interp23tap's
margin (wrapped around the scene at its borders, as interp23tap's circular borders do on the
whole scene), so the tile's lms equals the whole-scene lms exactly; fill nodata with the
window's valid mean; fuse (SRINO's noise is keyed by the window's origin in the output
grid, so tiles and the whole scene share it); drop the halo; blend into the row band with the
ramp weights; write every finished band of rows. Peak memory is one tile's fusion plus one
band of rows. Progress: a bar over tiles, or over SRINO's sampling steps when the scene is
fused in one piece.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import tqdm

from srino_jax.data import geotiff
from srino_jax.scene import tiling
from srino_jax.signals import check_interrupted
from srino_jax.scene.memory import Plan
from srino_jax.scene.methods import SceneMethod
from srino_jax.scene.writer import SceneWriter, check_outputs, std_path
from srino_jax.toolbox.interp import interp23tap

__all__ = ["fuse_pair", "fuse_window", "peak_memory"]

GDAL_CACHE_MB = 128


def peak_memory() -> float:
  """This process's peak resident memory (VmHWM) in bytes, 0 where /proc is missing."""
  try:
    with open("/proc/self/status", encoding="ascii") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return float(line.split()[1]) * 1024
  except OSError:
    pass
  return 0.0


def _fill(img: np.ndarray, valid: np.ndarray, core=(slice(None), slice(None))) -> np.ndarray:
  """Invalid pixels replaced by the per-band mean of the valid ones in `core` (the window
  without its wrapped margin, so a whole scene is filled with its own mean; 0 if none)."""
  if valid.all():
    return img
  inner, ok = img[core], valid[core]
  mean = inner[ok].mean(0) if ok.any() else np.zeros(img.shape[-1])
  return np.where(valid[..., None], img, mean)


def fuse_window(pair: geotiff.ScenePair, method: SceneMethod, pan_src, ms_src,
                rows: tuple[int, int], cols: tuple[int, int], halo: int
                ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
  """Fuses output pixels [rows) x [cols) (multiples of the ratio) with `halo` of context.

  The method sees the window with its halo and that window's top-left output pixel as its
  origin (SRINO's noise is a function of the output position, not of the tile).

  Returns:
    (mean (h, w, C) float64 DN, std (h, w, C) or None, valid (h, w) bool).
  """
  r, (H, W) = pair.ratio, pair.shape
  ey0, ey1 = max(0, rows[0] - halo), min(H, rows[1] + halo)
  ex0, ex1 = max(0, cols[0] - halo), min(W, cols[1] + halo)
  m = tiling.interp_margin(r)
  ms, ms_ok = geotiff.read_ms(pair, ms_src, (ey0 // r - m, ey1 // r + m),
                              (ex0 // r - m, ex1 // r + m))
  pan, pan_ok = geotiff.read_pan(pair, pan_src, (ey0, ey1), (ex0, ex1))
  core = (slice(m, ms.shape[0] - m), slice(m, ms.shape[1] - m))
  valid = pan_ok & np.repeat(np.repeat(ms_ok[core], r, 0), r, 1)
  crop = (slice(rows[0] - ey0, rows[1] - ey0), slice(cols[0] - ex0, cols[1] - ex0))
  if not valid[crop].any():  # nothing to fuse: all nodata
    zeros = np.zeros(valid[crop].shape + (pair.bands,))
    return zeros, (zeros if method.samples > 1 else None), valid[crop]
  ms = _fill(ms, ms_ok, core)
  pan = _fill(pan, pan_ok)
  lms = interp23tap(ms, r)[m * r:m * r + ey1 - ey0, m * r:m * r + ex1 - ex0]
  mean, std = method.fuse(ms[core], lms, pan, (ey0, ex0))
  return mean[crop], (None if std is None else std[crop]), valid[crop]


def fuse_pair(pair: geotiff.ScenePair, method: SceneMethod, plan: Plan, output,
              overwrite: bool = False, cog: bool = False, dtype: str | None = None,
              progress: bool = True) -> dict:
  """Fuses `pair` into `output` (and `<stem>_std.tif` when the method draws K > 1 samples).

  Args:
    pair: the checked input pair (`geotiff.open_pair`).
    method: the fusion method (`methods.classical_method` / `methods.srino_method`).
    plan: tile size and overlap (`memory.plan_fusion`).
    output: output GeoTIFF path.
    overwrite: replace existing outputs.
    cog: Cloud-Optimized GeoTIFF layout with overviews.
    dtype: stored dtype (default: the MS file's).
    progress: show a bar over tiles, or over the sampling steps of a method that has them
      (`method.step_progress`) when the scene is one tile.

  Returns:
    summary dict: outputs, tiles, seconds, peak_bytes (VmHWM).

  Raises:
    FileExistsError: an output exists and not `overwrite`.
  """
  import rasterio
  nodata = pair.ms_nodata if pair.ms_nodata is not None else pair.pan_nodata
  method.check_ratio(pair.ratio, f"{pair.pan_path} / {pair.ms_path}")
  if pair.bands != method.sensor.bands:
    raise ValueError(f"{pair.ms_path}: {pair.bands} bands selected, sensor "
                     f"{method.sensor.name} needs {method.sensor.bands} (use --bands/--sensor)")
  H, W = pair.shape
  outputs = [output] + ([std_path(output)] if method.samples > 1 else [])
  check_outputs(outputs, overwrite)
  row_starts = tiling.tile_starts(H, plan.tile_rows, plan.overlap, pair.ratio)
  col_starts = tiling.tile_starts(W, plan.tile_cols, plan.overlap, pair.ratio)
  n_tiles = len(row_starts) * len(col_starts)
  halo = method.halo if n_tiles > 1 else 0
  by_steps = progress and n_tiles == 1 and method.step_progress is not None
  c = pair.bands
  has_std = method.samples > 1
  bands = tiling.RowBands(row_starts, plan.tile_rows, H, W, 2 * c + 1 if has_std else c + 1)
  tags = {"SRINO_METHOD": method.name, "SRINO_PAN": pair.pan_path, "SRINO_MS": pair.ms_path,
          "SRINO_SAMPLES": method.samples, "SRINO_TILES": n_tiles}
  common = dict(height=H, width=W, count=c, crs=pair.crs, transform=pair.transform,
                descriptions=pair.descriptions, cog=cog, tags=tags, overwrite=overwrite)
  t0 = time.perf_counter()
  # GDAL keeps written blocks in its cache (default 5% of RAM) until it is full: cap it so
  # the output does not pile up in memory on a large scene.
  with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(pair.pan_path) as pan_src, \
      rasterio.open(pair.ms_path) as ms_src, \
      SceneWriter(output, dtype=dtype or pair.dtype, nodata=nodata, **common) as out, \
      (SceneWriter(outputs[-1], dtype="float32", nodata=None,
                   **{**common, "tags": {**tags, **method.spread_tags}}) if has_std
       else contextlib.nullcontext()) as out_std, \
      tqdm.tqdm(total=n_tiles, desc=f"{method.name} tiles", unit="tile",
                disable=not progress or by_steps) as bar, \
      (_step_bar(method) if by_steps else contextlib.nullcontext()):
    th, tw = min(plan.tile_rows, H), min(plan.tile_cols, W)
    for ri, y0 in enumerate(row_starts):
      bands.begin_row(ri)
      wy = tiling.tile_weights(row_starts, ri, th, H)
      for ci, x0 in enumerate(col_starts):
        check_interrupted()  # a deferred Ctrl-C / SIGTERM stops between tiles
        mean, std, valid = fuse_window(pair, method, pan_src, ms_src, (y0, y0 + th),
                                       (x0, x0 + tw), halo)
        stack = [mean] + ([std] if has_std else []) + [valid[..., None].astype(np.float64)]
        bands.add(y0, x0, np.concatenate(stack, -1),
                  wy[:, None] * tiling.tile_weights(col_starts, ci, tw, W)[None, :])
        bar.update()
      for top, block in bands.release(ri):
        ok = block[..., -1] > 0.5
        out.write(top, block[..., :c], ok)
        if has_std:
          out_std.write(top, block[..., c:2 * c], ok)
  return {"outputs": [str(p) for p in outputs], "tiles": n_tiles,
          "tile": (th, tw), "overlap": plan.overlap,
          "seconds": time.perf_counter() - t0, "peak_bytes": peak_memory()}


@contextlib.contextmanager
def _step_bar(method: SceneMethod):
  """A bar over the method's sampling steps, advanced by its `step_progress` callback."""
  with tqdm.tqdm(total=method.step_progress.steps, desc=f"{method.name} steps",
                 unit="step") as bar:
    method.step_progress.bar = bar
    try:
      yield bar
    finally:
      method.step_progress.bar = None
