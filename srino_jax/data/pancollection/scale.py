"""The one scale detector of PanCollection data: digital numbers or already divided by the max.

Public copies of PanCollection files come either in digital numbers (0 .. 2^bits - 1) or
already divided by the sensor's maximum. Each key is judged on its own maximum (<= 1.5:
already divided), so a file whose PAN alone was divided while its MS is in digital numbers
is refused instead of being scored wrong. Data far darker than the sensor's range (a
maximum <= 2^(bits-2), e.g. 8-bit data read as 11-bit WorldView-3) only warns, naming both
numbers and how to set the bit depth: `max_value=` (readers), `--bits` (command lines).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping

from srino_jax.errors import InputError
from srino_jax.sensors import Sensor

__all__ = ["SCALED_MAX", "SCALE_KEYS", "ScaleInfo", "ScaleWarning", "detect_scale",
           "sensor_bits"]

SCALED_MAX = 1.5  # a key whose maximum is at most this is taken as already in [0, 1]
# Keys judged; sr_std (a spread across samples) is no image and may be small in any units.
SCALE_KEYS = ("gt", "ms", "lms", "pan", "sr")


class ScaleWarning(UserWarning):
  """The data's maximum is far below the sensor's (wrong bit depth?)."""


@dataclasses.dataclass(frozen=True)
class ScaleInfo:
  """What `detect_scale` found.

  Attributes:
    scale: divide the stored values by this to get model units (max_value, or 1.0 for
      data already divided by the maximum).
    already_scaled: the keys' maxima are all <= SCALED_MAX.
    maxima: key -> maximum seen (the keys judged).
    max_value: the maximum digital number assumed (sensor's or the override).
  """

  scale: float
  already_scaled: bool
  maxima: dict
  max_value: float


def sensor_bits(max_value: float) -> int:
  """Bit depth of a maximum digital number 2^bits - 1 (2047 -> 11)."""
  return int(round(math.log2(float(max_value) + 1.0)))


def detect_scale(maxima: Mapping[str, float], sensor: Sensor, where,
                 max_value: float | None = None) -> ScaleInfo:
  """Decides the scale of a PanCollection set from each key's maximum.

  Args:
    maxima: key -> maximum of that key's values (keys outside SCALE_KEYS and all-zero keys
      are ignored: they say nothing about the scale).
    sensor: the sensor; its `max_value` is the scale of digital numbers ...
    where: the file, named in messages.
    max_value: ... unless this overrides it (e.g. 255 for 8-bit data, 2**bits - 1).

  Returns:
    `ScaleInfo`.

  Raises:
    InputError: some keys are <= SCALED_MAX (divided) and others above (digital numbers);
      the message names the file, the keys and their maxima.

  Warns:
    ScaleWarning: in digital numbers with a maximum <= 2^(bits-2) of the assumed bit depth.
  """
  max_value = float(sensor.max_value if max_value is None else max_value)
  judged = {k: float(v) for k, v in maxima.items() if k in SCALE_KEYS and float(v) != 0.0}
  divided = {k: v for k, v in judged.items() if v <= SCALED_MAX}
  dn = {k: v for k, v in judged.items() if v > SCALED_MAX}
  if divided and dn:
    show = lambda d: ", ".join(f"{k} max {v:.6g}" for k, v in d.items())  # noqa: E731
    raise InputError(
        f"{where}: keys disagree on the scale: {show(divided)} (<= {SCALED_MAX}: already "
        f"divided by the sensor max) but {show(dn)} (digital numbers)",
        "Store every key in the same units (all digital numbers, or all divided by the "
        "maximum).")
  if divided or not judged:
    return ScaleInfo(1.0, bool(divided), judged, max_value)
  top = max(dn.values())
  bits = sensor_bits(max_value)
  if top <= 2.0 ** (bits - 2):
    data_bits = max(1, math.ceil(math.log2(top + 1.0)))
    warnings.warn(
        f"{where}: maximum value {top:.6g} is far below the {bits}-bit maximum "
        f"{max_value:g} of sensor {sensor.name}; if the data have fewer bits (e.g. "
        f"{data_bits}), set the bit depth (--bits {data_bits} on the command line, "
        f"max_value={2 ** data_bits - 1} in the readers), or the images are scored too dark",
        ScaleWarning, stacklevel=3)
  return ScaleInfo(max_value, False, judged, max_value)
