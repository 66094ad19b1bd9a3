"""The keys of a PanCollection set and the checks of their shapes and values.

Every failure is an `InputError` (a ValueError) naming the file, the key and the problem.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from srino_jax.errors import InputError, MissingInputError
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["IMAGE_KEYS", "INPUT_KEYS", "validate_shapes", "check_finite", "require_file"]

# sr: a fused output; sr_std: the per-pixel spread of several samples (sample.py); sr_err90:
# that spread calibrated into a 90 % error bar (python -m srino_jax.calibrate).
IMAGE_KEYS = ("gt", "ms", "lms", "pan", "sr", "sr_std", "sr_err90")
INPUT_KEYS = ("ms", "lms", "pan")  # what a fusion method needs
_HINT = "Check the file: a PanCollection set holds NCHW datasets gt, ms, lms, pan."


def _bad(message: str) -> InputError:
  return InputError(message, _HINT)


def validate_shapes(shapes: Mapping[str, Sequence[int]], sensor: str | Sensor, where,
                    layout: str = "NCHW") -> None:
  """Checks the shapes of a PanCollection set against each other and the sensor.

  Args:
    shapes: key -> shape for the image keys present (other keys are ignored).
    sensor: sensor name or `Sensor` (band count and ratio).
    where: file name (or description) put in the error messages.
    layout: "NCHW" (as stored) or "NHWC" (as in the library).

  Raises:
    InputError (a ValueError): naming `where`, the key and the problem: no datasets, a
      missing key, wrong rank, zero examples, example counts that disagree, PAN with more
      than one band, band counts that disagree with each other or the sensor, PAN not r
      times the MS size, lms/gt/sr not on the PAN grid.
  """
  sensor = get_sensor(sensor)
  r = sensor.ratio
  present = {k: tuple(int(d) for d in s) for k, s in shapes.items() if k in IMAGE_KEYS}
  if not present:
    raise _bad(f"{where}: empty file, none of the datasets {IMAGE_KEYS} is present")
  if not (set(INPUT_KEYS) <= present.keys() or "sr" in present):
    missing = [k for k in INPUT_KEYS if k not in present]
    raise _bad(f"{where}: missing key(s) {missing} (a PanCollection set needs "
               f"{list(INPUT_KEYS)}, an output file at least 'sr')")
  nhwc = {}
  for key, shape in present.items():
    if len(shape) != 4:
      raise _bad(f"{where}: key '{key}' has rank {len(shape)} (shape {shape}), "
                 f"expected 4 ({layout})")
    nhwc[key] = (shape[0], shape[2], shape[3], shape[1]) if layout == "NCHW" else shape
  counts = {k: s[0] for k, s in nhwc.items()}
  for key, n in counts.items():
    if n == 0:
      raise _bad(f"{where}: key '{key}' holds 0 examples (empty file)")
  if len(set(counts.values())) > 1:
    raise _bad(f"{where}: example counts disagree between keys: {counts}")
  for key, (_, h, w, c) in nhwc.items():
    if h == 0 or w == 0:
      raise _bad(f"{where}: key '{key}' has an empty image size {h} x {w}")
    if key == "pan":
      if c != 1:
        raise _bad(f"{where}: key 'pan' has {c} bands, expected 1")
    elif c != sensor.bands:
      raise InputError(f"{where}: key '{key}' has {c} bands, but sensor {sensor.name} has "
                       f"{sensor.bands}", "Check the sensor (--sensor) or the file.")
  grid_name = "pan" if "pan" in nhwc else "sr"  # the PAN grid (an output file: sr's)
  grid = nhwc[grid_name][1:3]
  if "ms" in nhwc and (nhwc["ms"][1] * r, nhwc["ms"][2] * r) != grid:
    raise _bad(f"{where}: key 'pan' is {grid[0]} x {grid[1]}, not ratio {r} times the "
               f"ms size {nhwc['ms'][1]} x {nhwc['ms'][2]}")
  for key in ("lms", "gt", "sr", "sr_std", "sr_err90"):
    if key in nhwc and nhwc[key][1:3] != grid:
      raise _bad(f"{where}: key '{key}' is {nhwc[key][1]} x {nhwc[key][2]}, not on the "
                 f"PAN grid {grid[0]} x {grid[1]} ({grid_name})")


def check_finite(arr: np.ndarray, where, key: str) -> None:
  """Raises InputError naming `where` and `key` if `arr` holds NaN or Inf."""
  if not np.all(np.isfinite(arr)):
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    raise _bad(f"{where}: key '{key}' contains {bad} NaN/Inf value(s)")


def require_file(path) -> pathlib.Path:
  """`path` as a Path; MissingInputError (a FileNotFoundError) if it is not a file."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise MissingInputError(f"PanCollection file not found: {path}", "Check the path.",
                            file=path)
  return path
