"""A run's training batches and validation data, as its config says.

Default (the paper's configs): batches of the PanCollection file `config.data.train`
(`TrainBatches`), validation on `config.data.valid`. A config that lists sources instead
trains on `MixedBatches` of them:

  config.data.sources.<name> = ConfigDict(kind="real", scene="geoeye1", weight=1.0)
  config.data.sources.<name> = ConfigDict(kind="file", path="train_wv3.h5", weight=1.0)

  kind "real"  a real .mat scene (a `REAL_SCENES` name or a path) in `config.data.realdata`
               (flag --config.data.realdata=...), Wald-reduced on the fly, minus the held-out
               block `config.data.holdout` (fraction of rows/columns, side
               `config.data.holdout_side`) that never enters a training patch;
  kind "file"  a reduced-resolution PanCollection file (relative to `config.data.root`).

A "real" entry with `optional=True` is left out, with one warning naming the file and the
flag, when its scene is not in the folder (the demo's real WV3 example: a bare clone has no
../shared/realdata and still trains on its synthetic source).

`config.data.augment` applies the dihedral augmentation (the 8 flips/rotations). When real
sources hold a block out, validation runs on those blocks (reduced resolution, tiled into
patch_size x patch_size tiles) instead of the validation file. The WorldView-2 scene is
evaluation only: no source may name it (by name, file name or content).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import warnings

import ml_collections
import numpy as np

from srino_jax.data.holdout import HoldOut
from srino_jax.data.pipeline import TrainBatches
from srino_jax.data.realscenes import (DEFAULT_REALDATA, EVALUATION_ONLY, REAL_SCENES, RealScene,
                                       RealSceneSource, resolve_scene_path)
from srino_jax.data.sources import FileSource, MixedBatches
from srino_jax.training import run as runs

__all__ = ["SOURCE_KINDS", "REALDATA_FLAG", "source_entries", "uses_sources", "check_sources",
           "train_batches", "real_scenes", "validation_data", "needed_files"]

REALDATA_FLAG = "--config.data.realdata"
# sha256 of the evaluation-only scenes: a renamed copy is refused as well.
_EVALUATION_ONLY_SHA256 = {
    "8a33d87006088e3bb0aadd157d59195d2cbab47b97f71efb94fc18568929d5cd",  # WV2, PROVENANCE.md
}
_EVALUATION_ONLY_NAMES = ("wv2",)


def _real_source(config, entry, cache):
  return RealSceneSource(_scene(config, entry.scene, cache), config.data.patch_size)


def _file_source(config, entry, cache):
  del cache
  return FileSource(os.path.join(config.data.root, entry.path), config.sensor,
                    config.data.patch_size)


# kind -> builder(config, entry, scene cache) -> a source (`data.sources` interface).
SOURCE_KINDS = {"real": _real_source, "file": _file_source}


def source_entries(config) -> list[tuple[str, ml_collections.ConfigDict]]:
  """[(name, entry)] of `config.data.sources` (empty: train on `config.data.train`).

  Raises:
    ValueError: an unknown kind, a missing field or a negative weight (named).
  """
  sources = config.data.get("sources", None)
  if not sources:
    return []
  out = []
  for name, entry in sources.items():
    kind = entry.get("kind", None)
    if kind not in SOURCE_KINDS:
      raise ValueError(f"config.data.sources.{name}.kind must be one of {sorted(SOURCE_KINDS)}, "
                       f"got {kind!r}")
    needed = {"real": "scene", "file": "path"}[kind]
    if needed not in entry:
      raise ValueError(f"config.data.sources.{name} (kind {kind!r}) needs the field {needed!r}")
    if float(entry.get("weight", 1.0)) < 0:
      raise ValueError(f"config.data.sources.{name}.weight must be >= 0, got {entry.weight}")
    if kind == "real" and entry.get("optional", False) and not _scene_present(config, entry):
      continue
    out.append((name, entry))
  return out


def _scene_present(config, entry) -> bool:
  """Whether an optional real source's scene is there; warns (once per message) if not."""
  try:
    resolve_scene_path(entry.scene, config.data.get("realdata", DEFAULT_REALDATA),
                       REALDATA_FLAG)
  except FileNotFoundError as err:
    # One location (stacklevel=1): the default filter shows the message once per process,
    # however often the entries are read.
    warnings.warn(f"optional training source left out: {err}", stacklevel=1)
    return False
  return True


def uses_sources(config) -> bool:
  """Whether the run trains on `config.data.sources` rather than `config.data.train`."""
  return bool(source_entries(config))


def _holdout(config) -> HoldOut:
  return HoldOut(float(config.data.get("holdout", 0.0)), config.data.get("holdout_side",
                                                                         "bottom"))


def _refuse_evaluation_only(scene: str, path: pathlib.Path | None) -> None:
  name = pathlib.Path(scene).name
  if scene.lower() in _EVALUATION_ONLY_NAMES or name in EVALUATION_ONLY or (
      path is not None and path.name in EVALUATION_ONLY):
    raise ValueError(f"real scene {scene!r} is evaluation only (the WorldView-2 scene): it "
                     f"must never be trained, validated or tuned on")
  if path is not None and path.is_file():
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest in _EVALUATION_ONLY_SHA256:
      raise ValueError(f"real scene {scene!r} ({path}) is a copy of the evaluation-only "
                       f"WorldView-2 scene: it must never be trained, validated or tuned on")


def _scene_path(config, scene: str) -> pathlib.Path:
  root = config.data.get("realdata", DEFAULT_REALDATA)
  guess = pathlib.Path(root) / REAL_SCENES[scene][0] if scene in REAL_SCENES else \
      pathlib.Path(scene)
  _refuse_evaluation_only(scene, guess)
  return resolve_scene_path(scene, root, REALDATA_FLAG)  # raises naming folder and flag


def _scene(config, scene: str, cache: dict) -> RealScene:
  if scene not in cache:
    _scene_path(config, scene)
    cache[scene] = RealScene(scene, config.data.get("realdata", DEFAULT_REALDATA),
                             _holdout(config), flag=REALDATA_FLAG)
  return cache[scene]


def check_sources(config, kinds=("real", "file")) -> None:
  """Checks every source's file exists (and is not evaluation-only) without reading it.

  Args:
    config: the run's ConfigDict.
    kinds: check only sources of these kinds.


  Raises:
    FileNotFoundError: a missing real scene or file (naming it and the flag to set).
    ValueError: a bad source entry or an evaluation-only scene.
  """
  for name, entry in source_entries(config):
    if entry.kind not in kinds:
      continue
    if entry.kind == "real":
      _scene_path(config, entry.scene)
    elif not os.path.exists(os.path.join(config.data.root, entry.path)):
      raise FileNotFoundError(f"config.data.sources.{name}: file "
                              f"{os.path.join(config.data.root, entry.path)} not found "
                              f"(relative to --config.data.root={config.data.root})")


def train_batches(config, cache: dict | None = None):
  """The run's training batches: `MixedBatches` of its sources, else `TrainBatches` of
  `config.data.train`; both have `batch(step)` (a pure function of (seed, step)) and are
  context managers.

  Args:
    config: the run's ConfigDict.
    cache: scene name -> RealScene already read (shared with `validation_data`).
  """
  entries = source_entries(config)
  if not entries:
    return TrainBatches(runs.data_path(config, "train"), config.sensor, config.train.batch_size,
                        patch_size=config.data.patch_size, seed=config.seed)
  cache = {} if cache is None else cache
  built = []
  try:
    for _, entry in entries:
      built.append(SOURCE_KINDS[entry.kind](config, entry, cache))
  except BaseException:
    for s in built:
      s.close()
    raise
  return MixedBatches(built, [float(e.get("weight", 1.0)) for _, e in entries],
                      batch_size=config.train.batch_size, seed=config.seed,
                      augment=bool(config.data.get("augment", False)))


def real_scenes(config, cache: dict | None = None) -> list[RealScene]:
  """The RealScenes of the run's "real" sources (read once per name)."""
  cache = {} if cache is None else cache
  return [_scene(config, e.scene, cache) for _, e in source_entries(config) if e.kind == "real"]


def _tiles(batch: dict[str, np.ndarray], p: int, r: int) -> list[dict[str, np.ndarray]]:
  """Non-overlapping p x p tiles (PAN grid) of a one-example batch, MS tiles p/r."""
  h, w = batch["pan"].shape[1:3]
  out = []
  for y in range(0, h - p + 1, p):
    for x in range(0, w - p + 1, p):
      tile = {k: batch[k][0, y:y + p, x:x + p] for k in ("gt", "lms", "pan")}
      tile["ms"] = batch["ms"][0, y // r:(y + p) // r, x // r:(x + p) // r]
      out.append(tile)
  return out


def validation_data(config, cache: dict | None = None) -> dict[str, np.ndarray] | None:
  """Validation patches from the real sources' held-out blocks, or None (use the file).

  The held-out block of each real scene, Wald-reduced on its own, is cut into
  patch_size x patch_size tiles; the scenes' tiles are interleaved (first tile of each scene,
  second of each, ...) and the first `config.train.eval_examples` kept.

  Returns:
    dict gt, lms (N, p, p, C), ms (N, p/r, p/r, C), pan (N, p, p, 1), float32 model units;
    None when no real source holds a block out.
  """
  if float(config.data.get("holdout", 0.0)) == 0.0:
    return None
  scenes = real_scenes(config, cache)
  if not scenes:
    return None
  per_scene = [_tiles(s.heldout_batch("reduced"), config.data.patch_size, s.ratio)
               for s in scenes]
  tiles = [t for group in zip(*per_scene) for t in group] or [t for g in per_scene for t in g]
  if not tiles:
    raise ValueError(f"the held-out blocks are smaller than patch_size {config.data.patch_size}:"
                     f" raise --config.data.holdout")
  tiles = tiles[:config.train.eval_examples]
  return {k: np.stack([t[k] for t in tiles]) for k in tiles[0]}


def needed_files(config) -> tuple[str, ...]:
  """The data.* file fields the run reads: train unless it has sources (or a file source
  reads it), valid unless real held-out blocks validate it."""
  entries = source_entries(config)
  needed = ("train",) if not entries or any(
      e.kind == "file" and e.path == config.data.train for _, e in entries) else ()
  if not (uses_sources(config) and float(config.data.get("holdout", 0.0)) > 0 and any(
      e.kind == "real" for _, e in source_entries(config))):
    needed += ("valid",)
  return needed
