"""The input of a fusion: a PanCollection .h5 or a toolbox .mat product, read once.

`read_input` returns the scenes in model units together with the `Sensor` whose max_value
made them so (DN = model units * max_value, `Sensor.to_dn`): the .mat's own bit depth (its
`L`) is found by the same read that loads its images.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from srino_jax.data.pancollection import ScaleWarning, read_pancollection
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene, scene_sensor
from srino_jax.sensors import Sensor, check_dn_range, get_sensor

__all__ = ["read_input"]

_KEYS = ("ms", "lms", "pan", "gt")


def read_input(path, sensor: str | Sensor, reduce: bool = False, limit: int | None = None,
               bits: int | None = None) -> tuple[dict[str, np.ndarray], Sensor]:
  """Reads the scenes to fuse and the sensor with their maximum.

  Args:
    path: a PanCollection .h5 / .hdf5 (reduced resolution with gt, or full resolution) or a
      MATLAB .mat product (I_MS, I_PAN; I_GT / I_MS_LR and L, its bit depth, if present).
    sensor: sensor name or `Sensor`.
    reduce: for a .mat product, apply Wald's protocol: fuse at the reduced scale and keep
      the original MS as the ground truth (an .h5 is read as stored).
    limit: read at most this many scenes of an .h5 file.
    bits: the data's bit depth when not the sensor's (for a .mat: overrides its L).

  Returns:
    (data, sensor): data has ms (N, h, w, C), lms (N, H, W, C), pan (N, H, W, 1) and gt
    (N, H, W, C) when known, float32 model units (N = 1 for a .mat); sensor is the `Sensor`
    whose max_value converts them: 2^bits - 1 for `bits`, else the .mat's own 2^L - 1,
    else the sensor table's.

  Raises:
    FileNotFoundError: no such file.
    ValueError: neither .h5 / .hdf5 nor .mat, a .mat whose values exceed the bit depth it
      is scaled by (`sensors.check_dn_range`), or the readers' own refusals.

  Warns:
    ScaleWarning: a .mat whose values use an eighth of that depth or less.
  """
  path = str(path)
  sensor = get_sensor(sensor)
  if not os.path.exists(path):
    raise FileNotFoundError(f"input {path} does not exist")
  if path.endswith((".h5", ".hdf5")):
    top = None if bits is None else sensor.with_bits(bits).max_value
    return read_pancollection(path, sensor, limit=limit, max_value=top), sensor.with_bits(bits)
  if not path.endswith(".mat"):
    raise ValueError(f"input {path}: expected a PanCollection .h5 or a MATLAB .mat scene")
  product = read_mat_scene(path)
  sensor = scene_sensor(product, sensor.name, bits)
  declared = ("--bits" if bits is not None else
              "the file's L" if product.get("bits") is not None else "the sensor table")
  top = max(float(np.max(product[k])) for k in ("ms", "pan"))
  note = check_dn_range(top, sensor, path, declared)  # raises above the range
  if note and bits is None:  # an explicit --bits is the user's word
    warnings.warn(note, ScaleWarning, stacklevel=2)
  case = (reduce_scene(product, sensor, ratio=sensor.ratio) if reduce
          else full_scene(product, ratio=sensor.ratio))
  # DN rounded to float32 before the division, as fusion inputs always were, so fusions
  # keep their bits: the Wald-reduced DN are not integers, and dividing them in float64
  # would move about a quarter of them by one float32 ulp (integer DN: same bits).
  return {k: sensor.to_model(np.asarray(v, np.float32))[None]
          for k, v in case.items() if k in _KEYS}, sensor
