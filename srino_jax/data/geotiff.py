"""GeoTIFF PAN + MS pairs: checks, the output grid, windowed and whole reads, and writing.

The one GeoTIFF reader of the library: the scene tool (`srino_jax.scene`) reads windows of a
pair through it, `make_dataset --ms/--pan` the whole pair (`read_geotiff_pair`), so both
refuse the same pairs (another CRS, rotated grids, a non-integer ratio, no overlap) and
accept the same ones (e.g. Landsat's PAN half a PAN pixel off the MS grid). rasterio is an
optional dependency (extra "geo"), imported when a file is opened.

The output grid is the PAN grid, cut to the part covered by whole MS pixels. MS pixel j
(0-based, in the MS file) covers PAN columns o + r j ... o + r j + r - 1, where r is the
resolution ratio (from the two geotransforms) and o = floor(offset of the MS origin in PAN
pixels). interp23tap puts MS pixel j at PAN column o + r j + r//2 of that block, which is the
toolbox's convention for nested grids (offset 0) and the exact pixel centre for grids whose
origins differ by half a PAN pixel (Landsat's PAN, offset 0.5).

Reads go through rasterio windows: a window may reach outside the (cut) MS extent, and is
then wrapped around it, which is what interp23tap's circular borders do on the whole scene.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import warnings

import numpy as np

from srino_jax.atomic import atomic_output
from srino_jax.errors import UsageError
from srino_jax.toolbox.arrays import as_image

__all__ = ["ScenePair", "open_pair", "read_ms", "read_pan", "parse_bands", "read_whole",
           "read_geotiff_pair", "write_geotiff"]

_TOL = 1e-6  # relative tolerance on pixel sizes (geotransforms are stored as float64)


def _rasterio():
  try:
    import rasterio
  except ImportError:
    # A missing optional dependency, not a bad input file: a usage error (exit 2).
    raise UsageError("GeoTIFF support needs rasterio, which is not installed",
                     "pip install -e '.[geo]' (or pip install 'srino-jax[geo]')") from None
  return rasterio


@dataclasses.dataclass(frozen=True)
class ScenePair:
  """Geometry of a PAN + MS pair on the output (PAN) grid.

  Attributes:
    pan_path, ms_path: the input files.
    ratio: integer resolution ratio r (MS pixel size / PAN pixel size).
    ms_bands: 1-based MS band indices read, in output order.
    ms_row0, ms_col0, ms_rows, ms_cols: the MS pixels used (a window of the MS file).
    pan_row0, pan_col0: PAN pixel of the output's top-left corner; the output is
      (r ms_rows, r ms_cols) PAN pixels.
    transform, crs: output georeferencing (the PAN's, shifted to the window).
    dtype: numpy dtype name of the MS file (the output's).
    pan_nodata, ms_nodata: nodata values (declared in the files or given), or None.
    descriptions: one description per output band.
    offset: sub-pixel offset (rows, cols) of the MS origin, in PAN pixels, after flooring.
  """

  pan_path: str
  ms_path: str
  ratio: int
  ms_bands: tuple[int, ...]
  ms_row0: int
  ms_col0: int
  ms_rows: int
  ms_cols: int
  pan_row0: int
  pan_col0: int
  transform: object
  crs: object
  dtype: str
  pan_nodata: float | None
  ms_nodata: float | None
  descriptions: tuple[str, ...]
  offset: tuple[float, float]

  @property
  def shape(self) -> tuple[int, int]:
    """Output (rows, cols) in PAN pixels."""
    return self.ratio * self.ms_rows, self.ratio * self.ms_cols

  @property
  def bands(self) -> int:
    return len(self.ms_bands)

  @property
  def profile(self) -> dict:
    """rasterio profile of the output grid (PAN pixels, the MS dtype and nodata), for
    `write_geotiff`."""
    h, w = self.shape
    return {"crs": self.crs, "transform": self.transform, "height": h, "width": w,
            "dtype": self.dtype, "nodata": self.ms_nodata}


def band_numbers(spec: str) -> tuple[int, ...]:
  """'3,2,1' -> (3, 2, 1): the form of a --bands list, 1-based numbers >= 1.

  Raises:
    ValueError: anything else.
  """
  try:
    bands = tuple(int(b) for b in str(spec).split(","))
  except ValueError:
    bands = ()
  if not bands or min(bands) < 1:
    raise ValueError(f"--bands {spec!r}: expected comma-separated band numbers >= 1 such as "
                     "2,3,4,5")
  return bands


def parse_bands(spec: str | None, count: int, ms_path) -> tuple[int, ...]:
  """'3,2,1' -> (3, 2, 1): 1-based MS band indices (default: all bands in file order)."""
  if not spec:
    return tuple(range(1, count + 1))
  bands = band_numbers(spec)
  bad = [b for b in bands if not 1 <= b <= count]
  if bad:
    raise ValueError(f"{ms_path}: has {count} bands; --bands {spec} asks for {bad}")
  return bands


def _grid_axis(off: float, ratio: int, ms_n: int, pan_n: int) -> tuple[int, int, int]:
  """MS pixels [j0, j1) whose PAN blocks lie inside the PAN, and the first PAN pixel."""
  o = math.floor(off + 1e-6)
  j0 = max(0, -(o // ratio))  # ceil(-o / r)
  j1 = min(ms_n, (pan_n - o) // ratio)
  return j0, j1, o + ratio * j0


def open_pair(pan_path, ms_path, bands: str | None = None, nodata: float | None = None
              ) -> ScenePair:
  """Checks a PAN + MS GeoTIFF pair and returns the output grid (reads no pixels).

  Args:
    pan_path: single-band PAN GeoTIFF.
    ms_path: multispectral GeoTIFF of the same product, pixel size r times the PAN's.
    bands: 1-based MS bands to use, comma-separated (default all).
    nodata: nodata value of both files (default: the values declared in the files).

  Raises:
    FileNotFoundError: naming a missing file.
    ValueError: naming both files: different CRS, rotated grids, a non-integer or
      anisotropic ratio, a PAN with several bands, no overlap.
  """
  rasterio = _rasterio()
  for p in (pan_path, ms_path):
    if not pathlib.Path(p).is_file():
      raise FileNotFoundError(f"GeoTIFF not found: {p}")
  both = f"{pan_path} / {ms_path}"
  with rasterio.open(pan_path) as pan, rasterio.open(ms_path) as ms:
    if pan.count != 1:
      raise ValueError(f"{pan_path}: PAN has {pan.count} bands, expected 1")
    if pan.crs != ms.crs:
      raise ValueError(f"{both}: different CRS ({pan.crs} vs {ms.crs}); reproject one "
                       "(gdalwarp -t_srs) first")
    tp, tm = pan.transform, ms.transform
    if tp.b or tp.d or tm.b or tm.d:
      raise ValueError(f"{both}: rotated geotransforms are not supported (gdalwarp first)")
    rx, ry = tm.a / tp.a, tm.e / tp.e
    ratio = round(rx)
    if abs(rx - ratio) > _TOL * rx or abs(ry - ratio) > _TOL * ry or ratio < 2:
      raise ValueError(f"{both}: MS / PAN pixel-size ratio is {rx:g} x {ry:g}; it must be "
                       "one integer >= 2 in both directions")
    off_r, off_c = (tm.f - tp.f) / tp.e, (tm.c - tp.c) / tp.a
    r0, r1, pr0 = _grid_axis(off_r, ratio, ms.height, pan.height)
    c0, c1, pc0 = _grid_axis(off_c, ratio, ms.width, pan.width)
    if r1 - r0 < 2 or c1 - c0 < 2:
      raise ValueError(f"{both}: the PAN and MS extents do not overlap")
    frac = (off_r - math.floor(off_r + 1e-6), off_c - math.floor(off_c + 1e-6))
    if any(min(abs(f), abs(f - 0.5), abs(f - 1)) > 0.01 for f in frac):
      warnings.warn(f"{both}: MS grid is offset by {frac} PAN pixels from the PAN grid "
                    "(neither 0 nor 0.5); fused without resampling", stacklevel=2)
    ms_bands = parse_bands(bands, ms.count, ms_path)
    desc = tuple(ms.descriptions[b - 1] or f"band {b}" for b in ms_bands)
    return ScenePair(
        pan_path=str(pan_path), ms_path=str(ms_path), ratio=ratio, ms_bands=ms_bands,
        ms_row0=r0, ms_col0=c0, ms_rows=r1 - r0, ms_cols=c1 - c0, pan_row0=pr0,
        pan_col0=pc0, transform=tp @ rasterio.Affine.translation(pc0, pr0), crs=pan.crs,
        dtype=ms.dtypes[ms_bands[0] - 1], pan_nodata=pan.nodata if nodata is None else nodata,
        ms_nodata=ms.nodata if nodata is None else nodata, descriptions=desc,
        offset=frac)


def _runs(start: int, stop: int, n: int) -> list[tuple[int, int, int]]:
  """[start, stop) wrapped modulo n as runs (destination offset, source start, length)."""
  runs, i = [], start
  while i < stop:
    src = i % n
    length = min(stop - i, n - src)
    runs.append((i - start, src, length))
    i += length
  return runs


def _read_wrapped(src, bands, row0: int, col0: int, rows: tuple[int, int],
                  cols: tuple[int, int], n_rows: int, n_cols: int) -> np.ndarray:
  """Pixels [rows) x [cols) of the n_rows x n_cols window at (row0, col0), wrapped."""
  from rasterio.windows import Window
  out = np.empty((len(bands), rows[1] - rows[0], cols[1] - cols[0]), np.float64)
  for dr, sr, nr in _runs(*rows, n_rows):
    for dc, sc, nc in _runs(*cols, n_cols):
      out[:, dr:dr + nr, dc:dc + nc] = src.read(
          list(bands), window=Window(col0 + sc, row0 + sr, nc, nr), out_dtype=np.float64)
  return np.moveaxis(out, 0, -1)


def _valid(img: np.ndarray, nodata: float | None) -> np.ndarray:
  """(rows, cols) bool: no band is nodata or NaN."""
  bad = np.isnan(img).any(-1)
  if nodata is not None and not np.isnan(nodata):
    bad |= (img == nodata).any(-1)
  return ~bad


def read_ms(pair: ScenePair, src, rows: tuple[int, int], cols: tuple[int, int]
            ) -> tuple[np.ndarray, np.ndarray]:
  """MS pixels [rows) x [cols) of the used MS window (may reach outside: wrapped).

  Returns:
    ((rows, cols, C) float64 digital numbers, (rows, cols) bool valid mask).
  """
  img = _read_wrapped(src, pair.ms_bands, pair.ms_row0, pair.ms_col0, rows, cols,
                      pair.ms_rows, pair.ms_cols)
  return img, _valid(img, pair.ms_nodata)


def read_pan(pair: ScenePair, src, rows: tuple[int, int], cols: tuple[int, int]
             ) -> tuple[np.ndarray, np.ndarray]:
  """PAN pixels [rows) x [cols) of the output grid (inside it): ((rows, cols, 1), mask)."""
  h, w = pair.shape
  img = _read_wrapped(src, (1,), pair.pan_row0, pair.pan_col0, rows, cols, h, w)
  return img, _valid(img, pair.pan_nodata)


def read_whole(pair: ScenePair) -> tuple[np.ndarray, np.ndarray]:
  """The whole output grid of a checked pair (`open_pair`), nodata pixels as stored.

  Returns:
    ((ms_rows, ms_cols, C) MS, (r ms_rows, r ms_cols, 1) PAN), float64 digital numbers.
  """
  rasterio = _rasterio()
  with rasterio.open(pair.pan_path) as pan_src, rasterio.open(pair.ms_path) as ms_src:
    ms, _ = read_ms(pair, ms_src, (0, pair.ms_rows), (0, pair.ms_cols))
    pan, _ = read_pan(pair, pan_src, (0, pair.shape[0]), (0, pair.shape[1]))
  return ms, pan


def read_geotiff_pair(pan_path, ms_path, bands: str | None = None,
                      nodata: float | None = None) -> dict:
  """Reads a whole PAN + MS GeoTIFF pair on its output grid (checked by `open_pair`).

  Args:
    pan_path: single-band PAN GeoTIFF.
    ms_path: multispectral GeoTIFF, pixel size r times the PAN's.
    bands: 1-based MS bands to read, comma-separated (default all).
    nodata: nodata value of both files (default: the files' own); nodata pixels are read
      as they are stored (no mask is applied).

  Returns:
    dict with "pan" (r h, r w, 1) and "ms" (h, w, C) float64 digital numbers (the overlap
    of the two files), "ratio" (int r), "pair" (the `ScenePair`) and "profile" (the output
    grid's, `ScenePair.profile`).

  Raises:
    ImportError: rasterio is not installed (pip install 'srino-jax[geo]').
    FileNotFoundError: naming a missing file.
    ValueError: the refusals of `open_pair`, or NaN / Inf pixels (naming the file).
  """
  pair = open_pair(pan_path, ms_path, bands=bands, nodata=nodata)
  ms, pan = read_whole(pair)
  return {"pan": as_image(pan, str(pan_path)), "ms": as_image(ms, str(ms_path)),
          "ratio": pair.ratio, "pair": pair, "profile": pair.profile}


def write_geotiff(path, img, profile_like: dict, dtype=None, overwrite: bool = False
                  ) -> pathlib.Path:
  """Writes an (H, W, C) image as a GeoTIFF with the georeferencing of `profile_like`.

  Args:
    path: destination .tif (written to a temp file in the same folder, then renamed).
    img: (H, W, C) or (H, W) image in digital numbers.
    profile_like: a rasterio profile (e.g. "profile" of `read_geotiff_pair`): its CRS and
      transform are kept; when it gives a height and width and `img` has another size, the
      pixel size is rescaled so the image covers the same ground.
    dtype: stored dtype (default: the profile's); integer dtypes are rounded and clipped.
    overwrite: replace an existing file.

  Returns:
    the path written.
  """
  rasterio = _rasterio()
  path = pathlib.Path(path)
  if path.exists() and not overwrite:
    raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
  img = as_image(img, "img")
  h, w, c = img.shape
  profile = dict(profile_like)
  dtype = np.dtype(dtype or profile.get("dtype", "float32"))
  if np.issubdtype(dtype, np.integer):
    info = np.iinfo(dtype)
    img = np.clip(np.round(img), info.min, info.max)
  transform = profile.get("transform")
  size = (profile.get("height"), profile.get("width"))
  if transform is not None and None not in size and size != (h, w):
    sx, sy = size[1] / w, size[0] / h
    transform = transform @ rasterio.Affine.scale(sx, sy)
  profile.update(driver="GTiff", height=h, width=w, count=c, dtype=dtype.name,
                 transform=transform)
  if not np.issubdtype(dtype, np.integer) and profile.get("nodata") is not None:
    profile["nodata"] = float(profile["nodata"])
  for key in ("blockxsize", "blockysize", "tiled"):  # the source's tiling may not fit
    profile.pop(key, None)
  with atomic_output(path, overwrite) as tmp, rasterio.open(tmp, "w", **profile) as dst:
    dst.write(np.moveaxis(img.astype(dtype), -1, 0))
  return path
