"""PanCollection HDF5 files: validated reading (eager and lazy) and atomic writing.

File layout (the PanCollection convention, Deng et al.'s DLPan-Toolbox): datasets
  gt  (N, C, H, W)      reference HRMS, absent in full-resolution sets
  ms  (N, C, H/r, W/r)  low-resolution MS
  lms (N, C, H, W)      MS upsampled to the PAN grid (interp23tap)
  pan (N, 1, H, W)      panchromatic image
  sr  (N, C, H, W)      optional: a fused output written by this library
stored as float in digital numbers (0 .. 2^bits - 1). Some public copies are already divided
by the sensor's maximum: a maximum <= 1.5 marks such a file, whose scale is then 1.

Inside the library arrays are NHWC float32 in model units (digital numbers / scale); the
transposition happens here and nowhere else.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping, Sequence

import h5py
import numpy as np

from srino_jax.atomic import atomic_output
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["IMAGE_KEYS", "PanCollectionData", "PanCollectionFile", "read_pancollection",
           "write_pancollection", "validate_shapes", "SCALED_MAX"]

# sr: a fused output; sr_std: the per-pixel spread of several samples (sample.py).
IMAGE_KEYS = ("gt", "ms", "lms", "pan", "sr", "sr_std")
INPUT_KEYS = ("ms", "lms", "pan")  # what a fusion method needs
SCALED_MAX = 1.5  # a file whose maximum is at most this is taken as already in [0, 1]
_SCALE_PROBE = 256  # first examples read to detect the scale of a lazily opened file


class PanCollectionData(dict):
  """dict of NHWC float32 arrays, plus where they came from.

  Attributes:
    path: the file read.
    sensor: the `Sensor` used.
    scale: what the stored values were divided by (the sensor max, or 1.0 for a file
      already in [0, 1]).
    already_scaled: True when the file was detected as already divided by the max.
  """

  path: pathlib.Path
  sensor: Sensor
  scale: float
  already_scaled: bool


def validate_shapes(shapes: Mapping[str, Sequence[int]], sensor: str | Sensor, where,
                    layout: str = "NCHW") -> None:
  """Checks the shapes of a PanCollection set against each other and the sensor.

  Args:
    shapes: key -> shape for the image keys present (other keys are ignored).
    sensor: sensor name or `Sensor` (band count and ratio).
    where: file name (or description) put in the error messages.
    layout: "NCHW" (as stored) or "NHWC" (as in the library).

  Raises:
    ValueError: naming `where`, the key and the problem: no datasets, a missing key, wrong
      rank, zero examples, example counts that disagree, PAN with more than one band, band
      counts that disagree with each other or the sensor, PAN not r times the MS size,
      lms/gt/sr not on the PAN grid.
  """
  sensor = get_sensor(sensor)
  r = sensor.ratio
  present = {k: tuple(int(d) for d in s) for k, s in shapes.items() if k in IMAGE_KEYS}
  if not present:
    raise ValueError(f"{where}: empty file, none of the datasets {IMAGE_KEYS} is present")
  if not (set(INPUT_KEYS) <= present.keys() or "sr" in present):
    missing = [k for k in INPUT_KEYS if k not in present]
    raise ValueError(f"{where}: missing key(s) {missing} (a PanCollection set needs "
                     f"{list(INPUT_KEYS)}, an output file at least 'sr')")
  nhwc = {}
  for key, shape in present.items():
    if len(shape) != 4:
      raise ValueError(f"{where}: key '{key}' has rank {len(shape)} (shape {shape}), "
                       f"expected 4 ({layout})")
    nhwc[key] = (shape[0], shape[2], shape[3], shape[1]) if layout == "NCHW" else shape
  counts = {k: s[0] for k, s in nhwc.items()}
  for key, n in counts.items():
    if n == 0:
      raise ValueError(f"{where}: key '{key}' holds 0 examples (empty file)")
  if len(set(counts.values())) > 1:
    raise ValueError(f"{where}: example counts disagree between keys: {counts}")
  for key, (_, h, w, c) in nhwc.items():
    if h == 0 or w == 0:
      raise ValueError(f"{where}: key '{key}' has an empty image size {h} x {w}")
    if key == "pan":
      if c != 1:
        raise ValueError(f"{where}: key 'pan' has {c} bands, expected 1")
    elif c != sensor.bands:
      raise ValueError(f"{where}: key '{key}' has {c} bands, but sensor {sensor.name} "
                       f"has {sensor.bands}")
  grid_name = "pan" if "pan" in nhwc else "sr"  # the PAN grid (an output file: sr's)
  grid = nhwc[grid_name][1:3]
  if "ms" in nhwc and (nhwc["ms"][1] * r, nhwc["ms"][2] * r) != grid:
    raise ValueError(f"{where}: key 'pan' is {grid[0]} x {grid[1]}, not ratio {r} times the "
                     f"ms size {nhwc['ms'][1]} x {nhwc['ms'][2]}")
  for key in ("lms", "gt", "sr", "sr_std"):
    if key in nhwc and nhwc[key][1:3] != grid:
      raise ValueError(f"{where}: key '{key}' is {nhwc[key][1]} x {nhwc[key][2]}, not on the "
                       f"PAN grid {grid[0]} x {grid[1]} ({grid_name})")


def _check_finite(arr: np.ndarray, where, key: str) -> None:
  if not np.all(np.isfinite(arr)):
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    raise ValueError(f"{where}: key '{key}' contains {bad} NaN/Inf value(s)")


def _require_file(path) -> pathlib.Path:
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"PanCollection file not found: {path}")
  return path


def _scale_from_max(vmax: float, sensor: Sensor) -> tuple[float, bool]:
  """(scale, already_scaled): max <= 1.5 means the file is already divided by the max."""
  if vmax <= SCALED_MAX:
    return 1.0, True
  return float(sensor.max_value), False


class PanCollectionFile:
  """Lazy, validated handle on a PanCollection HDF5 file (a context manager).

  Opening checks the dataset shapes (`validate_shapes`) and detects the scale from the first
  256 examples of `ms` and `pan` (or `sr`); NaN/Inf are checked on each read, since scanning
  a 6 GB training file on open would defeat the laziness.

  Attributes:
    path, sensor, keys (image keys present, in IMAGE_KEYS order), num_examples, has_gt,
    bands, pan_size ((H, W) of the PAN grid), ms_size, scale, already_scaled.
  """

  def __init__(self, path, sensor: str | Sensor, scale: float | None = None,
               dtype=np.float32):
    """Opens `path` for reading.

    Args:
      path: file path.
      sensor: sensor name or `Sensor`.
      scale: divide stored values by this; None detects it (sensor max, or 1.0 for a file
        already in [0, 1]).
      dtype: floating type of the arrays `read` returns (float64 keeps the stored digital
        numbers exact for the toolbox indices).
    """
    self.path = _require_file(path)
    self.dtype = np.dtype(dtype)
    self.sensor = get_sensor(sensor)
    try:
      self._file = h5py.File(self.path, "r")
    except OSError as e:
      raise ValueError(f"{self.path}: not a readable HDF5 file ({e})") from None
    try:
      shapes = {k: self._file[k].shape for k in IMAGE_KEYS
                if k in self._file and isinstance(self._file[k], h5py.Dataset)}
      validate_shapes(shapes, self.sensor, self.path)
      self.keys = tuple(k for k in IMAGE_KEYS if k in shapes)
      self.num_examples = int(shapes[self.keys[0]][0])
      self.has_gt = "gt" in shapes
      self.bands = self.sensor.bands
      self.pan_size = tuple(int(d) for d in shapes["pan" if "pan" in shapes else "sr"][2:4])
      self.ms_size = (self.pan_size[0] // self.sensor.ratio, self.pan_size[1] // self.sensor.ratio)
      if scale is None:
        n = min(self.num_examples, _SCALE_PROBE)
        vmax = max(float(self._file[k][:n].max()) for k in ("ms", "pan", "sr") if k in shapes)
        self.scale, self.already_scaled = _scale_from_max(vmax, self.sensor)
      else:
        self.scale, self.already_scaled = float(scale), float(scale) == 1.0
    except BaseException:
      self._file.close()
      raise

  def __enter__(self) -> PanCollectionFile:
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def close(self) -> None:
    if self._file.id.valid:
      self._file.close()

  def __len__(self) -> int:
    return self.num_examples

  def _check_indices(self, indices) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= self.num_examples):
      raise IndexError(f"{self.path}: example indices must lie in [0, {self.num_examples}), "
                       f"got {idx.min()}..{idx.max()}")
    return idx

  def _convert(self, key: str, raw: np.ndarray) -> np.ndarray:
    _check_finite(raw, self.path, key)
    out = np.transpose(raw, (0, 2, 3, 1)).astype(self.dtype)
    if self.scale != 1.0:
      out /= self.dtype.type(self.scale)
    return out

  def read(self, indices: Iterable[int] | slice, keys: Sequence[str] | None = None
           ) -> dict[str, np.ndarray]:
    """Reads some examples, converted to NHWC float32 model units.

    Args:
      indices: example indices in any order, repeats allowed (or a slice).
      keys: subset of `self.keys` to read (default: all present).

    Returns:
      key -> (n, h, w, c) float32 (stored values / `self.scale`), in the order of `indices`.
    """
    keys = self.keys if keys is None else tuple(keys)
    for k in keys:
      if k not in self.keys:
        raise KeyError(f"{self.path}: no dataset '{k}' (present: {list(self.keys)})")
    if isinstance(indices, slice):
      indices = range(*indices.indices(self.num_examples))
    idx = self._check_indices(indices)
    # Read the sorted unique indices as runs of consecutive examples (one slice each: much
    # faster than h5py's fancy indexing, which also needs increasing indices), then reorder.
    uniq, inverse = np.unique(idx, return_inverse=True)
    runs = np.split(uniq, np.flatnonzero(np.diff(uniq) != 1) + 1) if uniq.size else []
    out = {}
    for k in keys:
      dset = self._file[k]
      data = np.empty((uniq.size,) + dset.shape[1:], dset.dtype)
      start = 0
      for run in runs:
        data[start:start + run.size] = dset[int(run[0]):int(run[-1]) + 1]
        start += run.size
      out[k] = self._convert(k, data)[inverse]
    return out

  def read_window(self, index: int, y: int, x: int, size: int,
                  keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Reads one example cropped to a PAN-grid window aligned to the ratio.

    Args:
      index: example index.
      y, x: top-left corner on the PAN grid, multiples of the ratio r.
      size: window side on the PAN grid, a multiple of r; the MS window is
        (y/r, x/r, size/r), the interp23tap phase keeping MS pixel i at PAN pixel r i + r/2.
      keys: subset of keys (default: all present).

    Returns:
      key -> (1, h, w, c) float32 model units.
    """
    r = self.sensor.ratio
    if y % r or x % r or size % r:
      raise ValueError(f"{self.path}: window ({y}, {x}, {size}) not aligned to ratio {r}")
    if y < 0 or x < 0 or y + size > self.pan_size[0] or x + size > self.pan_size[1]:
      raise ValueError(f"{self.path}: window ({y}, {x}, {size}) outside the PAN grid "
                       f"{self.pan_size}")
    idx = int(self._check_indices([index])[0])
    keys = self.keys if keys is None else tuple(keys)
    out = {}
    for k in keys:
      if k == "ms":
        raw = self._file[k][idx:idx + 1, :, y // r:(y + size) // r, x // r:(x + size) // r]
      else:
        raw = self._file[k][idx:idx + 1, :, y:y + size, x:x + size]
      out[k] = self._convert(k, raw)
    return out

  def read_all(self, limit: int | None = None) -> PanCollectionData:
    """Reads the first `limit` examples (all by default) as a `PanCollectionData`."""
    n = self.num_examples if limit is None else max(0, min(int(limit), self.num_examples))
    data = PanCollectionData(self.read(slice(0, n)))
    data.path, data.sensor = self.path, self.sensor
    data.scale, data.already_scaled = self.scale, self.already_scaled
    return data


def read_pancollection(path, sensor: str | Sensor, limit: int | None = None,
                       scale: float | None = None) -> PanCollectionData:
  """Reads a PanCollection file into memory.

  Args:
    path: HDF5 file.
    sensor: sensor name or `Sensor` (band count, ratio, max value).
    limit: read only the first `limit` examples.
    scale: divide by this instead of detecting (sensor max, or 1.0 when the file's maximum
      is <= 1.5, i.e. already in [0, 1]).

  Returns:
    `PanCollectionData` (a dict) with keys among gt (if present), ms, lms, pan, sr: NHWC
    float32 arrays in model units, (N, H, W, C), (N, H/r, W/r, C), (N, H, W, C), (N, H, W, 1);
    `.scale` and `.already_scaled` record the detected scale.

  Raises:
    FileNotFoundError: the file does not exist.
    ValueError: shapes, band counts or values are wrong (see `validate_shapes`), NaN/Inf.
  """
  with PanCollectionFile(path, sensor, scale=1.0 if scale is None else scale) as f:
    raw = f.read_all(limit)
    if scale is None:
      # With the examples loaded, base the detection on their true maximum.
      vmax = max(float(v.max()) for v in raw.values())
      new_scale, already = _scale_from_max(vmax, f.sensor)
      if new_scale != 1.0:
        for k in raw:
          raw[k] /= np.float32(new_scale)
      raw.scale, raw.already_scaled = new_scale, already
    return raw


def _prepare_for_write(arrays: Mapping[str, np.ndarray], sensor: Sensor, units: str,
                       where, dtype) -> dict[str, np.ndarray]:
  """Validates NHWC arrays and returns them as NCHW in digital numbers."""
  if units not in ("unit", "dn"):
    raise ValueError(f"{where}: units must be 'unit' (values in [0, 1]) or 'dn' "
                     f"(digital numbers), got {units!r}")
  unknown = [k for k in arrays if k not in IMAGE_KEYS]
  if unknown:
    raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {list(IMAGE_KEYS)}")
  arrs = {}
  for key, value in arrays.items():
    arr = np.asarray(value)
    if arr.ndim == 3 and key == "pan":
      arr = arr[..., None]  # (N, H, W) PAN
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
      raise ValueError(f"{where}: key '{key}' has non-real dtype {arr.dtype}")
    arrs[key] = arr
  validate_shapes({k: a.shape for k, a in arrs.items()}, sensor, where, layout="NHWC")
  out = {}
  for key, arr in arrs.items():
    _check_finite(arr, where, key)
    if units == "unit":
      vmax = float(np.max(arr))
      if vmax > SCALED_MAX:
        raise ValueError(f"{where}: key '{key}' has maximum {vmax:g} > {SCALED_MAX}, which "
                         f"looks like digital numbers; pass units='dn'")
      arr = arr.astype(np.float64) * sensor.max_value
    out[key] = np.ascontiguousarray(np.transpose(arr, (0, 3, 1, 2)).astype(dtype))
  return out


def write_pancollection(path, arrays: Mapping[str, np.ndarray], sensor: str | Sensor, *,
                        units: str = "unit", overwrite: bool = False,
                        extra: Mapping[str, object] | None = None,
                        dtype=np.float32) -> pathlib.Path:
  """Writes a PanCollection file atomically (temp file in the same folder, then rename).

  Args:
    path: destination .h5 file.
    arrays: key -> NHWC array; keys among gt, ms, lms, pan, sr; ms, lms, pan required
      unless `sr` is given (an output file may hold only `sr`). PAN may be (N, H, W).
    sensor: sensor name or `Sensor`.
    units: how `arrays` are scaled: "unit" = model units in [0, 1] (multiplied by the
      sensor max before writing; a maximum > 1.5 is refused as a likely mistake), or
      "dn" = already digital numbers (written as they are).
    overwrite: replace an existing file.
    extra: more root attributes (strings, numbers, small arrays), e.g. provenance.
    dtype: stored float type (float32 default; the public files use float64).

  Returns:
    the path written.

  Raises:
    FileExistsError: `path` exists and `overwrite` is False.
    ValueError: bad shapes/band counts/NaN (nothing is written then).
  """
  path = pathlib.Path(path)
  sensor = get_sensor(sensor)
  if path.exists() and not overwrite:
    raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
  data = _prepare_for_write(arrays, sensor, units, path, dtype)
  with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
    for key in IMAGE_KEYS:
      if key in data:  # one chunk per example: training reads random examples
        f.create_dataset(key, data=data[key], chunks=(1,) + data[key].shape[1:],
                         track_times=False)
    f.attrs.update({"sensor": sensor.name, "units": "digital numbers",
                    "max_value": float(sensor.max_value), "ratio": int(sensor.ratio)})
    f.attrs.update(dict(extra or {}))
  return path
