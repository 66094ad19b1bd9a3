"""Satellite sensor table: band count, radiometric range and MTF Nyquist gains.

The gains are those of the pan-sharpening reference toolbox (Vivone et al., genMTF.m and
MTF_PAN.m): the value of each band's modulation transfer function at the Nyquist frequency
of the multispectral grid. They define the Wald-protocol degradation filters and the
full-resolution quality indices, so a wrong gain silently changes every table.

Users add their own sensor with `register_sensor(Sensor(...))`. A scene whose bit depth
differs from the sensor's usual one (the shipped GeoEye-1 scene is 8-bit) uses
`get_sensor(name, bits=8)` or `sensor.with_bits(8)`: the same sensor with max 2^bits - 1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["Sensor", "get_sensor", "register_sensor", "sensor_names", "max_value_of_bits",
           "check_dn_range"]


def max_value_of_bits(bits: int) -> float:
  """Largest digital number of a `bits`-bit image, 2^bits - 1 (e.g. 255 for 8 bits)."""
  if int(bits) != bits or not 1 <= int(bits) <= 32:
    raise ValueError(f"bit depth must be an integer in [1, 32], got {bits!r}")
  return float(2 ** int(bits) - 1)


@dataclasses.dataclass(frozen=True)
class Sensor:
  """One pan-sharpening sensor.

  Attributes:
    name: canonical upper-case name, e.g. "WV3".
    bands: number of multispectral bands C.
    max_value: largest digital number, 2**bits - 1 (the scale the model divides by).
    ms_gains: MTF gain at Nyquist for each MS band, length `bands`, each in (0, 1).
    pan_gain: MTF gain at Nyquist of the panchromatic band.
    ratio: PAN / MS resolution ratio.
    rgb: 0-based indices of the (red, green, blue) bands, for quick-looks.
  """

  name: str
  bands: int
  max_value: float
  ms_gains: tuple[float, ...]
  pan_gain: float
  ratio: int = 4
  rgb: tuple[int, int, int] = (2, 1, 0)

  def __post_init__(self):
    if len(self.ms_gains) != self.bands:
      raise ValueError(
          f"sensor {self.name}: {len(self.ms_gains)} MS gains for {self.bands} bands")
    if not all(0.0 < g < 1.0 for g in (*self.ms_gains, self.pan_gain)):
      raise ValueError(f"sensor {self.name}: MTF gains must lie in (0, 1)")
    if max(self.rgb) >= self.bands:
      raise ValueError(f"sensor {self.name}: rgb indices {self.rgb} out of range")

  def with_bits(self, bits: int | None) -> "Sensor":
    """This sensor with max_value 2^bits - 1 (a scene's own bit depth); None: unchanged.

    The MTF gains and everything else stay; only the scale the model divides by changes.
    """
    if bits is None:
      return self
    return dataclasses.replace(self, max_value=max_value_of_bits(bits))

  def to_model(self, dn) -> np.ndarray:
    """Digital numbers -> model units.

    Args:
      dn: array-like of any shape in digital numbers (DN, 0 ... max_value).

    Returns:
      float32 array of the same shape, dn / max_value (about [0, 1]); the quotient is
      taken in float64 and rounded once to float32.
    """
    return (np.asarray(dn, np.float64) / self.max_value).astype(np.float32)

  def to_dn(self, x) -> np.ndarray:
    """Model units -> digital numbers.

    Args:
      x: array-like of any shape in model units (DN / max_value).

    Returns:
      float64 array of the same shape, x * max_value in digital numbers (not rounded,
      not clipped: the metrics and writers decide).
    """
    return np.asarray(x, np.float64) * self.max_value


def check_dn_range(max_dn: float, sensor: Sensor, where: str, declared: str) -> str | None:
  """Checks the largest digital number of some data against the depth they are scaled by.

  Args:
    max_dn: the data's maximum, in digital numbers.
    sensor: the sensor whose max_value will divide them.
    where: the data, named in the messages (e.g. the file).
    declared: where that depth comes from ("--bits", "the file's L", "the sensor table").

  Returns:
    None, or a warning text when the data use no more than an eighth of the range (e.g.
    8-bit data scaled as 11-bit: the model sees them three bits too dark).

  Raises:
    ValueError: values above 2^bits (the toolbox's th_values bound): the depth is wrong.
  """
  top = sensor.max_value
  bits = int(round(math.log2(top + 1)))
  need = max(1, math.ceil(math.log2(max_dn + 1))) if max_dn > 0 else 1
  if max_dn > top + 1:
    raise ValueError(f"{where}: values up to {max_dn:g} exceed the {bits}-bit maximum "
                     f"{top:g} ({declared}); they need {need} bits. Give the data's bit "
                     f"depth with --bits {need} (or the right sensor)")
  if need <= bits - 3:
    return (f"{where}: values reach only {max_dn:g}, {need}-bit data scaled as {bits}-bit "
            f"({declared}): if the data are {need}-bit, pass --bits {need}")
  return None


_SENSORS: dict[str, Sensor] = {}


def register_sensor(sensor: Sensor, overwrite: bool = False) -> Sensor:
  """Adds `sensor` to the table under its upper-cased name and returns it."""
  key = sensor.name.upper()
  if key in _SENSORS and not overwrite:
    raise ValueError(f"sensor {key} is already registered (pass overwrite=True)")
  _SENSORS[key] = sensor
  return sensor


def sensor_names() -> list[str]:
  return sorted(_SENSORS)


def get_sensor(name: str | Sensor, bits: int | None = None) -> Sensor:
  """Looks a sensor up by name, case-insensitively; a `Sensor` is returned as is.

  Args:
    name: registered name (any case) or a `Sensor`.
    bits: the scene's bit depth; when given, the returned sensor's max_value is
      2^bits - 1 instead of the table's (`Sensor.with_bits`). None keeps the table's.
  """
  if isinstance(name, Sensor):
    return name.with_bits(bits)
  try:
    sensor = _SENSORS[str(name).upper()]
  except KeyError:
    raise ValueError(
        f"unknown sensor {name!r}; known sensors: {', '.join(sensor_names())}") from None
  return sensor.with_bits(bits)


# RGB indices (0-based): 8-band WorldView order is coastal, blue, green, yellow, red,
# red edge, NIR1, NIR2; the 4-band sensors are blue, green, red, NIR.
register_sensor(Sensor("WV3", 8, 2047.0,
                       (0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315), 0.14,
                       rgb=(4, 2, 1)))
register_sensor(Sensor("WV2", 8, 2047.0, (0.35,) * 7 + (0.27,), 0.11, rgb=(4, 2, 1)))
register_sensor(Sensor("QB", 4, 2047.0, (0.34, 0.32, 0.30, 0.22), 0.15, rgb=(2, 1, 0)))
register_sensor(Sensor("GF2", 4, 1023.0, (0.3,) * 4, 0.15, rgb=(2, 1, 0)))
register_sensor(Sensor("IKONOS", 4, 2047.0, (0.26, 0.28, 0.29, 0.28), 0.17, rgb=(2, 1, 0)))
# GeoEye1's table max is the sensor's 11 bits; the shipped GRIP scene is 8-bit (its .mat
# carries L = 8, which `data.products.read_mat_scene` reads as the scene's "bits").
register_sensor(Sensor("GEOEYE1", 4, 2047.0, (0.23,) * 4, 0.16, rgb=(2, 1, 0)))
register_sensor(Sensor("PLEIADES", 4, 4095.0, (0.3,) * 4, 0.15, rgb=(2, 1, 0)))
