"""Fusion methods for whole scenes: classical baselines by name, SRINO from a checkpoint.

Every method is a `SceneMethod`: a function fusing one window (MS, its exact lms, PAN) in
digital numbers, plus what the tiler and the memory estimate need to know about it. All
SRINO-specific calls (loading a run, its sensor, random parameters, the sampler) live in
this module.

SRINO under tiling: every window is fused with the same key (the seed) and its origin in the
output grid, so its initial and per-step noise are crops of one positional noise field
(`srino_jax.noise`): a pixel gets the same noise in a tile as in the whole scene, and the
tiled-vs-whole difference is the model's global context alone (its attention and spectral
statistics span the window).

Classical methods under tiling: only `exp` is a purely local operator, so only it is exact
tile by tile (the halo covers interp23tap and the MTF / box filters). Every other toolbox
method also uses statistics of the whole image, which a tile computes over its own window:
brovey, gs, bt-h (PAN moment matching, haze minimum), gsa, mtf-glp-fs, mtf-glp-hpm-r,
mtf-glp-cbd (regressions), mtf-glp, mtf-glp-hpm, sfim (PAN matched per band to the MS mean
and std) and bdsd (its regression block is the image height). Their tiled output differs
from the whole-scene output by how much those statistics vary between tiles.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from srino_jax import baselines
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["SceneMethod", "StepProgress", "classical_method", "srino_method",
           "random_srino_params", "generic_sensor", "CLASSICAL_HALO"]

# PAN pixels of context around a tile for the classical filters: the MTF filters are 41 x 41
# (radius 20) and MTF-GLP's low-pass PAN goes through a decimation and interp23tap (9 MS
# pixels of reach at r = 4, i.e. 36 PAN pixels); 64 covers both at r <= 4.
CLASSICAL_HALO = 64

# Working memory per fused pixel and band, bytes (the float64 numpy temporaries of the
# toolbox methods; MTF-GLP-HPM, 8 bands, 1856^2 window: 3.23 GiB VmHWM, benchmarks/scene.py),
# and time per fused pixel and band (this 2-core CPU: 81 tiles of 640^2 in 54 s).
_CLASSICAL_BYTES = 120.0
_CLASSICAL_SECONDS = 2.0e-7
# SRINO per pixel, per unit of model width, per sample: VmHWM 1.09 GiB for the demo width
# (32) at 512^2 and 5.1 GB for the paper width (64) at 1024^2 (issue 10) both give ~80 B;
# time per pixel, width and DDIM step ~1.4e-7 (paper) to 2.1e-7 s (demo) on this CPU.
_SRINO_BYTES_PER_WIDTH = 80.0
_SRINO_SECONDS_PER_WIDTH_STEP = 1.8e-7

Fuse = Callable[[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]],
                tuple[np.ndarray, np.ndarray | None]]


class StepProgress:
  """The sampler's step callback (`on_step`) for a progress bar over the DDIM steps.

  One object per SceneMethod. `fuse_pair` sets `bar` (a tqdm bar) while it fuses a scene in
  one piece; with `bar` None the method fuses with a fuser that has no callback compiled in
  (tiles: no host callback in the compiled sampler, which JAX's persistent cache would not
  store). Under the vmap over samples the callback fires once per sample and step, in any
  order, so it only ever raises the bar to step i + 1.

  Attributes:
    steps: the number of DDIM steps (the bar's total).
    bar: the tqdm bar to advance, or None.
  """

  def __init__(self, steps: int):
    self.steps = steps
    self.bar = None

  def __call__(self, i: int) -> None:
    bar = self.bar
    if bar is not None and i + 1 > bar.n:
      bar.n = i + 1
      bar.refresh()


@dataclasses.dataclass(frozen=True)
class SceneMethod:
  """A fusion method as the scene tiler sees it.

  Attributes:
    name: shown in messages and stored in the output's metadata.
    fuse: (ms (h, w, C), lms (r h, r w, C), pan (r h, r w, 1), origin) -> (mean, std or
      None), float64 digital numbers (r h, r w, C); origin = (row, col) of the window's
      top-left pixel in the output grid (SRINO's noise is a function of it).
    sensor: the sensor whose band count the MS must have.
    halo: PAN pixels of context fused around each tile and discarded.
    bytes_per_pixel: working memory per output pixel (estimate).
    seconds_per_pixel: time per output pixel (estimate, this machine).
    ratios: supported ratios (None: any power of two).
    samples: K samples per pixel (std is returned when K > 1).
    step_progress: the callback that shows progress over sampling steps (SRINO), or None.
    spread_tags: GeoTIFF tags of the second output (K > 1): what its values are (the raw
      std of the K samples, or that std calibrated into an error bar of a nominal level).
  """

  name: str
  fuse: Fuse
  sensor: Sensor
  halo: int
  bytes_per_pixel: float
  seconds_per_pixel: float
  ratios: tuple[int, ...] | None = None
  samples: int = 1
  step_progress: StepProgress | None = None
  spread_tags: dict = dataclasses.field(default_factory=dict)

  def check_ratio(self, ratio: int, where: str) -> None:
    ok = (ratio in self.ratios if self.ratios else ratio >= 2 and not ratio & (ratio - 1))
    if not ok:
      allowed = self.ratios or "powers of two"
      raise ValueError(f"{where}: ratio {ratio} is not supported by {self.name} ({allowed})")


def generic_sensor(bands: int, dtype: str) -> Sensor:
  """A sensor for products without an entry: the toolbox's default MTF gains (0.3, PAN 0.15)
  and the dtype's range as the maximum."""
  dt = np.dtype(dtype)
  top = float(np.iinfo(dt).max) if dt.kind in "ui" else 1.0
  rgb = (min(2, bands - 1), min(1, bands - 1), 0)
  return Sensor(f"GENERIC{bands}", bands, top, (0.3,) * bands, 0.15, rgb=rgb)


def classical_method(name: str, sensor: Sensor) -> SceneMethod:
  """A toolbox baseline (`baselines.available_methods()`) fed the tile's exact lms."""
  key = baselines.method_key(name)
  impl = baselines.METHODS[key]

  def fuse(ms, lms, pan, origin):
    del origin  # deterministic
    ratio = pan.shape[0] // ms.shape[0]
    return np.asarray(impl(lms, pan, ms, sensor, ratio), np.float64), None

  c = sensor.bands
  return SceneMethod(key, fuse, sensor, CLASSICAL_HALO, _CLASSICAL_BYTES * c,
                     _CLASSICAL_SECONDS * c)


def random_srino_params(run, seed: int = 0) -> Any:
  """Randomly initialised parameters of a run's model (benchmarks and tests: the cost of
  sampling does not depend on training)."""
  import jax
  from srino_jax import model
  return model.init_params(run.model, jax.random.key(seed))


def srino_method(run, params, sensor: str | Sensor | None = None, num_samples: int = 1,
                 steps: int | None = None, seed: int = 0) -> SceneMethod:
  """SRINO with `params` (a `training.run.Run`'s): one fuser (`inference.make_fuser`),
  called per window in model units (digital numbers / the sensor's max); one key,
  key(seed), for every window, and the window's origin, so tiles and the whole scene draw
  the same noise at every pixel."""
  import jax
  from srino_jax import inference
  from srino_jax.training.calibration import scale_for
  trained = run.sensor
  sensor = trained if sensor is None else get_sensor(sensor)
  if sensor.bands != trained.bands:
    raise ValueError(f"the model fuses {trained.bands} bands ({trained.name}); sensor "
                     f"{sensor.name} has {sensor.bands}")
  key = jax.random.key(seed)
  n_steps = steps or run.sampling.steps
  progress = StepProgress(n_steps)
  # Two fusers at most, each built (and compiled) on first use and kept by the method: with
  # the step callback (a scene fused whole, under a bar) and without (tiles).
  fusers = {}

  def fuse(ms, lms, pan, origin):
    with_bar = progress.bar is not None
    if with_bar not in fusers:
      fusers[with_bar] = inference.make_fuser(run, params, num_samples, steps,
                                              on_step=progress if with_bar else None)
    fuser = fusers[with_bar]
    # float32 first, as the fused windows always were (to_model of float64 DN could move a
    # value by one float32 ulp).
    data = {k: sensor.to_model(np.asarray(v, np.float32))[None]
            for k, v in (("ms", ms), ("lms", lms), ("pan", pan))}
    data["origin"] = np.asarray([origin], np.int32)
    mean, std = inference.fuse_scenes(fuser, data, key)
    return sensor.to_dn(mean[0]), (sensor.to_dn(spread * std[0]) if num_samples > 1 else None)

  # The std file: calibrated into a 90 % error bar when the run was calibrated for exactly
  # this sampler (python -m srino_jax.calibrate), else the raw spread, and says which.
  scale = scale_for(run, 0.9, num_samples, steps) if num_samples > 1 else None
  spread = 1.0 if scale is None else scale
  tags = ({"SRINO_SPREAD": f"std of the {num_samples} samples (DN), not calibrated"}
          if scale is None else
          {"SRINO_SPREAD": "calibrated error bar (DN): |fused - truth| <= value",
           "SRINO_NOMINAL_COVERAGE": 0.9, "SRINO_SPREAD_SCALE": scale})

  width = run.model.width
  return SceneMethod(
      "srino", fuse, sensor, halo=0,
      bytes_per_pixel=_SRINO_BYTES_PER_WIDTH * width * num_samples,
      seconds_per_pixel=_SRINO_SECONDS_PER_WIDTH_STEP * width * n_steps * num_samples,
      ratios=(sensor.ratio,), samples=num_samples, step_progress=progress,
      spread_tags=tags if num_samples > 1 else {})
