"""Real scenes as training sources: Wald-reduced patches on the fly, minus a held-out block.

A `RealScene` reads a toolbox .mat scene (`products.read_mat_scene`), takes the sensor with the
scene's own bit depth (`products.scene_sensor`: the GeoEye-1 file is 8-bit, max 255), cuts off
the held-out block at full resolution (`holdout.split_scene`) and Wald-reduces the two parts
separately (`products.reduce_scene`), so no held-out pixel reaches a training patch at any
scale, not even through the 41 x 41 MTF filter. Arrays are kept in model units (digital
numbers / the scene's max), float32.

`RealSceneSource` draws square training patches from the reduced training part (corner on
multiples of the ratio, so the MS crop covers the same ground); `MixedBatches` (sources.py)
mixes it with other sources.

The scenes live in `../shared/realdata/` (relative to the working directory: the repository
root) or a folder given by flag; `REAL_SCENES` names the known files. The WorldView-2 scene
is evaluation only: `RealScene` refuses to build a training source from it.
"""

from __future__ import annotations

import pathlib

import numpy as np

from srino_jax.data.holdout import PARTS, HoldOut, split_heldout, split_scene
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene, scene_sensor
from srino_jax.sensors import Sensor

__all__ = ["DEFAULT_REALDATA", "REAL_SCENES", "EVALUATION_ONLY", "resolve_scene_path",
           "RealScene", "RealSceneSource", "real_scene_sources"]

DEFAULT_REALDATA = "../shared/realdata"
# name -> (file in the realdata folder, sensor); the files' provenance: PROVENANCE.md there.
REAL_SCENES = {
    "geoeye1": ("grip_imgGE1.mat", "GEOEYE1"),
    "ikonos": ("grip_imgIK.mat", "IKONOS"),
    "wv3_example": ("zpnn_WV3_example.mat", "WV3"),
}
EVALUATION_ONLY = ("pypansharpening_imgWV2.mat",)  # never train, fit or tune on these
KEYS = ("gt", "lms", "ms", "pan")


def resolve_scene_path(scene: str, root=DEFAULT_REALDATA,
                       flag: str = "--config.data.realdata") -> pathlib.Path:
  """The .mat file of `scene`: a name of REAL_SCENES (looked up in `root`) or a path.

  Raises:
    FileNotFoundError: naming the missing file and the flag that sets the folder.
  """
  if scene in REAL_SCENES:
    path = pathlib.Path(root) / REAL_SCENES[scene][0]
  else:
    path = pathlib.Path(scene)
  if not path.is_file():
    raise FileNotFoundError(
        f"real scene {scene!r}: file {path} not found; set the folder holding the real scenes "
        f"with {flag}=/path/to/realdata (default {DEFAULT_REALDATA}, relative to the "
        f"working directory)")
  return path


def _model_units(d: dict, sensor: Sensor) -> dict[str, np.ndarray]:
  return {k: sensor.to_model(v) for k, v in d.items()}


class RealScene:
  """One real scene split into a Wald-reduced training part and a held-out block.

  Attributes:
    name: the scene's name (REAL_SCENES key or file stem).
    path: the .mat file.
    sensor: `Sensor` with the scene's max (2^bits - 1 when the file has L, or `bits`).
    holdout: the `HoldOut`.
    train: reduced training part, model units: gt, lms (h, w, C), ms (h/r, w/r, C),
      pan (h, w, 1), h x w = the training part of the original MS grid.
    heldout: the held-out block reduced the same way (the validation / evaluation set at
      reduced resolution), or None without a hold-out.
    heldout_full: the held-out block at full resolution, model units: ms (original MS),
      lms (interp23tap of it), pan (full-resolution PAN); None without a hold-out.
    parts: {"valid" / "test": {"reduced": ..., "full": ...}}, the block's validation and
      test parts (`holdout.split_heldout`), each reduced on its own; {} without a hold-out.
  """

  def __init__(self, scene: str, root=DEFAULT_REALDATA, holdout: HoldOut = HoldOut(),
               sensor: str | None = None, bits: int | None = None,
               flag: str = "--config.data.realdata", scene_dict: dict | None = None):
    """Reads and prepares the scene.

    Args:
      scene: REAL_SCENES name or .mat path (ignored for reading when `scene_dict` is given).
      root: folder of the REAL_SCENES files.
      holdout: held-out block (HoldOut(0.0) for none).
      sensor: sensor name; default the scene's own, else REAL_SCENES's.
      bits: bit depth overriding the file's L.
      flag: the command-line flag named in the missing-file error.
      scene_dict: an already loaded full-resolution scene (ms, pan in DN), e.g. for tests.
    """
    if scene_dict is None:
      self.path = resolve_scene_path(scene, root, flag)
      if self.path.name in EVALUATION_ONLY:
        raise ValueError(f"{self.path} is evaluation only: it must never be trained on")
      scene_dict = read_mat_scene(self.path)
    else:
      self.path = None
    self.name = scene if scene in REAL_SCENES else pathlib.Path(scene).stem
    default = REAL_SCENES[scene][1] if scene in REAL_SCENES else None
    self.sensor = scene_sensor(scene_dict, sensor if sensor is not None else
                               scene_dict.get("sensor", default), bits)
    self.ratio = int(scene_dict.get("ratio", self.sensor.ratio))
    if scene_dict["ms"].shape[-1] != self.sensor.bands:
      raise ValueError(f"real scene {self.name}: {scene_dict['ms'].shape[-1]} MS bands, sensor "
                       f"{self.sensor.name} has {self.sensor.bands}")
    self.holdout = holdout
    self.ms_shape = tuple(scene_dict["ms"].shape)
    train, held = split_scene(scene_dict, holdout, self.ratio)
    s = self.sensor
    self.train = _model_units(reduce_scene(train, s, self.ratio), s)
    self.heldout = None if held is None else _model_units(
        reduce_scene(held, s, self.ratio), s)
    self.heldout_full = None if held is None else _model_units(full_scene(held, self.ratio), s)
    # The validation and test parts, each reduced on its own (cut before any filter).
    self.parts = {} if held is None else {
        name: {"reduced": _model_units(reduce_scene(part, s, self.ratio), s),
               "full": _model_units(full_scene(part, self.ratio), s)}
        for name, part in split_heldout(held, holdout, self.ratio).items()}

  def heldout_batch(self, scale: str = "reduced", part: str = "all"
                    ) -> dict[str, np.ndarray]:
    """The held-out block, or one of its parts, as a one-example batch.

    Args:
      scale: "reduced" (Wald reduction: gt, lms, ms, pan) or "full" (ms, lms, pan; no gt).
      part: "all" (the whole block, reduced as one), "valid" (what choices are made on) or
        "test" (reported only; `HoldOut.test` > 0).

    Returns:
      dict of (1, h, w, c) float32 model-unit arrays (the block need not be square).

    Raises:
      ValueError: the scene has no hold-out (or no such part), or an unknown scale / part.
    """
    if scale not in ("reduced", "full"):
      raise ValueError(f"scale must be 'reduced' or 'full', got {scale!r}")
    if part not in ("all", *PARTS):
      raise ValueError(f"part must be one of {('all', *PARTS)}, got {part!r}")
    if self.heldout is None:
      raise ValueError(f"real scene {self.name} has no held-out block (HoldOut fraction 0)")
    if part == "all":
      data = {"reduced": self.heldout, "full": self.heldout_full}[scale]
    elif part in self.parts:
      data = self.parts[part][scale]
    else:
      raise ValueError(f"real scene {self.name} has no {part} part (HoldOut.test is 0)")
    return {k: v[None] for k, v in data.items()}

  @property
  def train_shape(self) -> tuple[int, int]:
    """(h, w) of the reduced training part on its PAN grid (= the original MS grid)."""
    return self.train["pan"].shape[:2]

  def train_offset(self) -> tuple[int, int]:
    """Where the training part starts on the original MS grid (row, column)."""
    rows, cols = self.holdout.train_block(self.ms_shape, self.ratio)
    return rows.start, cols.start


class RealSceneSource:
  """Square training patches of a `RealScene`'s reduced training part.

  Attributes:
    scene: the RealScene; patch_size: p on the (reduced) PAN grid, a multiple of the ratio.
  """

  def __init__(self, scene: RealScene, patch_size: int):
    h, w = scene.train_shape
    r = scene.ratio
    if patch_size % r or patch_size <= 0 or patch_size > min(h, w):
      raise ValueError(f"real scene {scene.name}: patch_size {patch_size} must be a positive "
                       f"multiple of the ratio {r} no larger than the training part {h}x{w} "
                       f"(reduced PAN grid)")
    self.scene = scene
    self.patch_size = int(patch_size)
    self.bands = scene.sensor.bands
    self.name = scene.name

  def origins(self, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 2) int64 patch corners (y, x) on the reduced PAN grid, multiples of the ratio."""
    r = self.scene.ratio
    h, w = self.scene.train_shape
    ys = rng.integers(0, (h - self.patch_size) // r + 1, size=n)
    xs = rng.integers(0, (w - self.patch_size) // r + 1, size=n)
    return np.stack([ys, xs], axis=1).astype(np.int64) * r

  def crop(self, origins: np.ndarray) -> dict[str, np.ndarray]:
    """Patches at `origins`: gt, lms (n, p, p, C), ms (n, p/r, p/r, C), pan (n, p, p, 1)."""
    p, r, t = self.patch_size, self.scene.ratio, self.scene.train
    out = {k: [] for k in KEYS}
    for y, x in np.asarray(origins):
      for k in ("gt", "lms", "pan"):
        out[k].append(t[k][y:y + p, x:x + p])
      out["ms"].append(t["ms"][y // r:(y + p) // r, x // r:(x + p) // r])
    return {k: np.stack(v) for k, v in out.items()}

  def draw(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """n random patches (model units, float32)."""
    return self.crop(self.origins(rng, n))

  def close(self) -> None:
    pass


def real_scene_sources(names, patch_size: int, root=DEFAULT_REALDATA,
                       holdout: HoldOut = HoldOut(), flag: str = "--config.data.realdata"
                       ) -> list[RealSceneSource]:
  """One `RealSceneSource` per scene name (REAL_SCENES keys or .mat paths), same hold-out.

  Raises:
    FileNotFoundError: a scene file is missing (the message names it and `flag`).
  """
  return [RealSceneSource(RealScene(n, root, holdout, flag=flag), patch_size) for n in names]
