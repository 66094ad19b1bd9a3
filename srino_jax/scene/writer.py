"""Streamed GeoTIFF output: tiled, compressed, georeferenced, written atomically.

Bands of rows arrive in order (`SceneWriter.write`) and go straight to disk through windowed
writes into a temporary file beside the output; it is renamed to the output name only when
the whole scene is written (with `cog=True` after GDAL's COG driver has copied it with
overviews), so an interrupted run leaves no file under the output name.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import tempfile

import numpy as np

from srino_jax.atomic import atomic_output, temp_prefix

__all__ = ["SceneWriter", "std_path", "to_dtype", "check_outputs"]

BLOCK = 256  # GeoTIFF tile side


def std_path(output) -> pathlib.Path:
  """`<output stem>_std.tif` beside the output: the per-pixel standard deviation file."""
  output = pathlib.Path(output)
  return output.with_name(f"{output.stem}_std{output.suffix or '.tif'}")


def check_outputs(paths, overwrite: bool) -> None:
  """Refuses existing outputs unless `overwrite` (FileExistsError naming the file)."""
  for p in paths:
    if pathlib.Path(p).exists() and not overwrite:
      raise FileExistsError(f"{p} exists; pass --overwrite to replace it")


def to_dtype(values: np.ndarray, valid: np.ndarray, dtype: str, nodata) -> np.ndarray:
  """(rows, cols, C) float values -> (C, rows, cols) `dtype`: rounded and clipped to the
  dtype's range (integers), invalid pixels set to `nodata`, valid pixels kept off it."""
  dt = np.dtype(dtype)
  out = np.asarray(values, np.float64)
  if dt.kind in "ui":
    info = np.iinfo(dt)
    lo, hi = float(info.min), float(info.max)
    if nodata is not None and nodata == lo:  # a valid pixel must not read as nodata
      lo += 1
    elif nodata is not None and nodata == hi:
      hi -= 1
    out = np.clip(np.round(out), lo, hi)
  if nodata is not None:
    out = np.where(valid[..., None], out, nodata)
  elif dt.kind == "f":
    out = np.where(valid[..., None], out, np.nan)
  return np.moveaxis(out.astype(dt), -1, 0)


class SceneWriter(contextlib.AbstractContextManager):
  """Writes an (H, W, C) image by bands of rows.

  Args:
    path: output GeoTIFF.
    height, width, count: output size and band count.
    dtype: numpy dtype name stored.
    crs, transform: georeferencing (the PAN grid).
    nodata: nodata value or None.
    descriptions: one per band.
    cog: write a Cloud-Optimized GeoTIFF with overviews (GDAL's COG driver).
    tags: metadata stored in the file (method, inputs, ...).
    overwrite: replace an existing file at the end (False: never replace one that
      appeared during the run; `atomic.atomic_output`).
  """

  def __init__(self, path, height: int, width: int, count: int, dtype: str, crs, transform,
               nodata=None, descriptions=(), cog: bool = False, tags: dict | None = None,
               overwrite: bool = False):
    self.path, self.cog, self.overwrite = pathlib.Path(path), cog, overwrite
    self.dtype, self.nodata = dtype, nodata
    self.profile = dict(
        driver="GTiff", height=height, width=width, count=count, dtype=dtype, crs=crs,
        transform=transform, nodata=nodata, tiled=True, blockxsize=BLOCK, blockysize=BLOCK,
        compress="deflate", predictor=3 if np.dtype(dtype).kind == "f" else 2,
        BIGTIFF="IF_SAFER")
    self.descriptions, self.tags = tuple(descriptions), dict(tags or {})
    self._stack = contextlib.ExitStack()
    self._pending, self._next_row = None, 0

  def __enter__(self):
    import rasterio
    tmp = self._stack.enter_context(atomic_output(self.path, self.overwrite))
    if self.cog:  # a plain tiled GeoTIFF first, copied to COG layout at the end
      self._final_tmp = tmp
      fd, tmp = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=".stream.tif",
                                 dir=self.path.parent)
      os.close(fd)
      self._stack.callback(lambda p=tmp: os.path.exists(p) and os.remove(p))
    self._tmp = tmp
    self._dst = rasterio.open(tmp, "w", **self.profile)
    for i, d in enumerate(self.descriptions, 1):
      self._dst.set_band_description(i, d)
    self._dst.update_tags(**{k: str(v) for k, v in self.tags.items()})
    return self

  def write(self, row0: int, values: np.ndarray, valid: np.ndarray) -> None:
    """Writes rows [row0, row0 + rows) from (rows, W, C) float values and a (rows, W) mask.

    Rows must arrive in order. They go to disk in whole rows of GeoTIFF tiles: a compressed
    tile written half-filled would be rewritten (and its old bytes left in the file) when
    its other half arrives; the rest waits in a buffer of fewer than BLOCK rows.
    """
    if row0 != self._next_row:
      raise ValueError(f"rows must be written in order: got {row0}, expected {self._next_row}")
    data = to_dtype(values, valid, self.dtype, self.nodata)
    self._pending = np.concatenate([self._pending, data], axis=1) if self._pending is not None \
        else data
    self._next_row += data.shape[1]
    full = self._pending.shape[1] // BLOCK * BLOCK
    if self._next_row == self.profile["height"]:
      full = self._pending.shape[1]
    if full:
      self._flush(full)

  def _flush(self, rows: int) -> None:
    from rasterio.windows import Window
    top = self._next_row - self._pending.shape[1]
    block, self._pending = self._pending[:, :rows], self._pending[:, rows:]
    self._dst.write(block, window=Window(0, top, block.shape[2], rows))

  def __exit__(self, exc_type, exc, tb):
    try:
      self._dst.close()
      if exc_type is None and self._next_row != self.profile["height"]:
        raise RuntimeError(f"{self.path}: only {self._next_row} of "
                           f"{self.profile['height']} rows were written")
      if exc_type is None and self.cog:
        import rasterio.shutil
        rasterio.shutil.copy(self._tmp, self._final_tmp, driver="COG", COMPRESS="DEFLATE",
                             PREDICTOR="YES", OVERVIEW_RESAMPLING="AVERAGE",
                             BLOCKSIZE=str(BLOCK), BIGTIFF="IF_SAFER")
    except BaseException:
      self._stack.__exit__(*sys.exc_info())
      raise
    return self._stack.__exit__(exc_type, exc, tb)
