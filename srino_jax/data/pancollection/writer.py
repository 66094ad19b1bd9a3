"""Writing PanCollection files: validated, NHWC -> NCHW, digital numbers, atomically."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import h5py
import numpy as np

from srino_jax.atomic import atomic_output
from srino_jax.data.pancollection.layout import IMAGE_KEYS, check_finite, validate_shapes
from srino_jax.data.pancollection.scale import SCALED_MAX
from srino_jax.errors import OutputExistsError
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["write_pancollection"]


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
    check_finite(arr, where, key)
    if units == "unit":
      vmax = float(np.max(arr))
      if vmax > SCALED_MAX:
        raise ValueError(f"{where}: key '{key}' has maximum {vmax:g} > {SCALED_MAX}, which "
                         f"looks like digital numbers; pass units='dn'")
      arr = sensor.to_dn(arr)
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
    OutputExistsError (a FileExistsError): `path` exists and `overwrite` is False.
    ValueError: bad shapes/band counts/NaN (nothing is written then).
  """
  path = pathlib.Path(path)
  sensor = get_sensor(sensor)
  if path.exists() and not overwrite:
    raise OutputExistsError(f"{path} exists", "Pass overwrite=True (--overwrite) to replace it.",
                            file=path)
  data = _prepare_for_write(arrays, sensor, units, path, dtype)
  with atomic_output(path, overwrite) as tmp, h5py.File(tmp, "w") as f:
    for key in IMAGE_KEYS:
      if key in data:  # one chunk per example: training reads random examples
        f.create_dataset(key, data=data[key], chunks=(1,) + data[key].shape[1:],
                         track_times=False)
    f.attrs.update({"sensor": sensor.name, "units": "digital numbers",
                    "max_value": float(sensor.max_value), "ratio": int(sensor.ratio)})
    f.attrs.update(dict(extra or {}))
  return path
