"""Reading PanCollection files: a lazy, validated handle and an eager reader.

Values are converted to NHWC arrays in model units (stored / scale); the scale comes from
`scale.detect_scale` unless given.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Sequence

import h5py
import numpy as np

from srino_jax.data.pancollection.layout import (IMAGE_KEYS, check_finite, require_file,
                                                 validate_shapes)
from srino_jax.data.pancollection.scale import SCALE_KEYS, ScaleInfo, detect_scale
from srino_jax.errors import InputError
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["PanCollectionData", "PanCollectionFile", "read_pancollection"]

_SCALE_PROBE = 256  # first examples read to detect the scale of a lazily opened file


class PanCollectionData(dict):
  """dict of NHWC float32 arrays, plus where they came from.

  Attributes:
    path: the file read.
    sensor: the `Sensor` used.
    scale: what the stored values were divided by (the sensor max, or 1.0 for a file
      already in [0, 1]).
    already_scaled: True when the file was detected as already divided by the max.
    scale_info: the `ScaleInfo` of the detection (None when `scale` was given).
  """

  path: pathlib.Path
  sensor: Sensor
  scale: float
  already_scaled: bool
  scale_info: ScaleInfo | None


class PanCollectionFile:
  """Lazy, validated handle on a PanCollection HDF5 file (a context manager).

  Opening checks the dataset shapes (`validate_shapes`) and detects the scale from each
  key's maximum over the first 256 examples (`detect_scale`: keys that disagree are
  refused); NaN/Inf are checked on each read, since scanning a 6 GB training file on open
  would defeat the laziness.

  Attributes:
    path, sensor, keys (image keys present, in IMAGE_KEYS order), num_examples, has_gt,
    bands, pan_size ((H, W) of the PAN grid), ms_size, scale, already_scaled, scale_info
    (the `ScaleInfo`, None when `scale` was given).
  """

  def __init__(self, path, sensor: str | Sensor, scale: float | None = None,
               dtype=np.float32, max_value: float | None = None):
    """Opens `path` for reading.

    Args:
      path: file path.
      sensor: sensor name or `Sensor`.
      scale: divide stored values by this; None detects it (sensor max, or 1.0 for a file
        already in [0, 1]).
      dtype: floating type of the arrays `read` returns (float64 keeps the stored digital
        numbers exact for the toolbox indices).
      max_value: the largest digital number of the data when it differs from the sensor's
        (e.g. 255 for 8-bit data; 2**bits - 1): the detected scale then.

    Raises:
      MissingInputError (FileNotFoundError): no such file.
      InputError (ValueError): not HDF5, bad shapes (`validate_shapes`), keys that disagree
        on the scale (`detect_scale`).

    Warns:
      ScaleWarning: a maximum far below the (override) max_value.
    """
    self.path = require_file(path)
    self.dtype = np.dtype(dtype)
    self.sensor = get_sensor(sensor)
    try:
      self._file = h5py.File(self.path, "r")
    except OSError as e:
      raise InputError(f"{self.path}: not a readable HDF5 file ({e})",
                       "Check that the file is a complete HDF5 (.h5) file.") from None
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
        maxima = {k: float(np.max(self._file[k][:n])) for k in SCALE_KEYS if k in shapes}
        self.scale_info = detect_scale(maxima, self.sensor, self.path, max_value)
        self.scale, self.already_scaled = self.scale_info.scale, self.scale_info.already_scaled
      else:
        self.scale_info = None
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
    check_finite(raw, self.path, key)
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
      raise InputError(f"{self.path}: window ({y}, {x}, {size}) not aligned to ratio {r}")
    if y < 0 or x < 0 or y + size > self.pan_size[0] or x + size > self.pan_size[1]:
      raise InputError(f"{self.path}: window ({y}, {x}, {size}) outside the PAN grid "
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
    data.scale_info = self.scale_info
    return data


def read_pancollection(path, sensor: str | Sensor, limit: int | None = None,
                       scale: float | None = None, max_value: float | None = None
                       ) -> PanCollectionData:
  """Reads a PanCollection file into memory.

  Args:
    path: HDF5 file.
    sensor: sensor name or `Sensor` (band count, ratio, max value).
    limit: read only the first `limit` examples.
    scale: divide by this instead of detecting (`detect_scale` on each loaded key's
      maximum: the max value, or 1.0 for keys all <= 1.5, i.e. already in [0, 1]).
    max_value: the data's largest digital number when not the sensor's (e.g. 255 for
      8-bit data, 2**bits - 1).

  Returns:
    `PanCollectionData` (a dict) with keys among gt (if present), ms, lms, pan, sr: NHWC
    float32 arrays in model units, (N, H, W, C), (N, H/r, W/r, C), (N, H, W, C), (N, H, W, 1);
    `.scale`, `.already_scaled` and `.scale_info` record the detected scale.

  Raises:
    MissingInputError (a FileNotFoundError): the file does not exist.
    InputError (a ValueError): shapes, band counts or values are wrong (see
      `validate_shapes`), NaN/Inf, keys that disagree on the scale.

  Warns:
    ScaleWarning: the maximum is far below the sensor's (or `max_value`).
  """
  with PanCollectionFile(path, sensor, scale=1.0 if scale is None else scale) as f:
    raw = f.read_all(limit)
    if scale is None:
      # With the examples loaded, base the detection on their true maxima.
      info = detect_scale({k: float(v.max()) for k, v in raw.items()}, f.sensor, f.path,
                          max_value)
      if info.scale != 1.0:
        for k in raw:
          raw[k] /= np.float32(info.scale)
      raw.scale, raw.already_scaled, raw.scale_info = info.scale, info.already_scaled, info
    return raw
