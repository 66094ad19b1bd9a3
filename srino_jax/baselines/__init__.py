"""Classical pan-sharpening baselines, as in Vivone et al.'s toolbox ("A new benchmark based
on recent advances in multispectral pansharpening", GRSM 2021; Brovey, GS and SFIM as in
the 2015 "critical comparison" toolbox, which the 2021 one builds on).

One entry point, `fuse(method, ms_lr, pan, sensor, ratio)`, with the method chosen from a
registry (names case-insensitive, '_' and '-' alike: `method_key` is the one place that reads
a name, `unknown_methods` lists the names it refuses):

  exp            interp23tap of the MS (the toolbox's EXP)
  brovey         Brovey.m (PAN moment-matched to the band mean)
  bt-h           BroveyRegHazeMin.m (Brovey with haze correction and regressed weights)
  gs             GS.m (Gram-Schmidt, intensity = band mean)
  gsa            GSA.m (adaptive GS: intensity regressed on the low-pass decimated PAN)
  bdsd           BDSD.m (band-dependent spatial detail; S = image height, as the demos)
  sfim           SFIM.m (smoothing-filter intensity modulation, 5 x 5 box for r = 4)
  mtf-glp        MTF_GLP.m (additive GLP injection with the sensor's MTF)
  mtf-glp-hpm    MTF_GLP_HPM.m (high-pass modulation)
  mtf-glp-fs     MTF_GLP_FS.m (full-scale regression of the injection gains)
  mtf-glp-hpm-r  MTF_GLP_HPM_R.m (HPM with a regression-based offset, 2021 toolbox)
  mtf-glp-cbd    GS2_GLP.m (the 2021 toolbox's MTF-GLP-CBD, regression gains per band)
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from srino_jax.baselines.cs import bdsd, brovey, bt_h, gs, gsa
from srino_jax.baselines.mra import (mtf_glp, mtf_glp_cbd, mtf_glp_fs, mtf_glp_hpm,
                                    mtf_glp_hpm_r, sfim)
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.arrays import as_ms_pan
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["fuse", "available_methods", "method_key", "unknown_methods", "METHODS"]


def _exp(lms, pan, ms_lr, sensor, ratio):
  return lms


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "exp": _exp,
    "brovey": brovey,
    "bt-h": bt_h,
    "gs": gs,
    "gsa": gsa,
    "bdsd": bdsd,
    "sfim": sfim,
    "mtf-glp": mtf_glp,
    "mtf-glp-hpm": mtf_glp_hpm,
    "mtf-glp-fs": mtf_glp_fs,
    "mtf-glp-hpm-r": mtf_glp_hpm_r,
    "mtf-glp-cbd": mtf_glp_cbd,
}


def available_methods() -> list[str]:
  """Names accepted by `fuse`, in table order."""
  return list(METHODS)


def _normalise(name: str) -> str:
  return str(name).lower().replace("_", "-")  # the toolbox's MTF_GLP_HPM is mtf-glp-hpm


def method_key(name: str) -> str:
  """The registry key of a method name ('MTF_GLP_HPM' -> 'mtf-glp-hpm').

  Raises:
    ValueError: `name` is no method; the message lists the available ones.
  """
  key = _normalise(name)
  if key not in METHODS:
    raise ValueError(f"unknown method {name!r}; available: {', '.join(METHODS)}")
  return key


def unknown_methods(names: Iterable[str]) -> list[str]:
  """The names of `names` that `method_key` refuses, as given (to name them all at once)."""
  return [name for name in names if _normalise(name) not in METHODS]


def fuse(method: str, ms_lr, pan, sensor: str | Sensor, ratio: int = 4,
         **options) -> np.ndarray:
  """Pan-sharpens with one classical method.

  Args:
    method: a name from `available_methods()`, case-insensitive ('_' and '-' alike).
    ms_lr: (h, w, C) multispectral image in digital numbers, C = sensor bands.
    pan: (h * ratio, w * ratio, 1) or (h * ratio, w * ratio) PAN in digital numbers.
    sensor: sensor name or `Sensor` (MTF gains for the MTF-based methods).
    ratio: resolution ratio, a power of two (interp23tap).
    **options: method-specific keywords (bdsd: block_size).

  The upsampled MS is interp23tap(ms_lr, ratio); the toolbox functions' `I_MS`.

  Returns:
    (h * ratio, w * ratio, C) float64 fused image in digital numbers.

  Raises:
    ValueError: unknown method (the message lists the available ones), or bad inputs
      (shape, band count, NaN/Inf).
  """
  key = method_key(method)
  sensor = get_sensor(sensor)
  ms_lr, pan = as_ms_pan(ms_lr, pan, sensor.bands, ratio, ms_name="ms_lr")
  lms = interp23tap(ms_lr, ratio)
  return METHODS[key](lms, pan, ms_lr, sensor, ratio, **options)
