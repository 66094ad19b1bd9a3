"""A run's training batches and validation data, as its parsed sources say.

Default (the paper's configs): batches of the PanCollection file `config.data.train`
(`TrainBatches`), validation on `config.data.valid`. A run with sources (`Run.sources`,
parsed from `config.data.sources` by `training.sources`) trains on `MixedBatches` of them:
"real" scenes Wald-reduced on the fly minus their held-out block (`Run.holdout`), and
reduced-resolution "file"s.

`config.data.augment` applies the dihedral augmentation (the 8 flips/rotations). When real
sources hold a block out, validation runs on those blocks (reduced resolution, tiled into
patch_size x patch_size tiles) instead of the validation file. The WorldView-2 scene is
evaluation only: no source may name it (by name, file name or content).
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np

from srino_jax.data.pancollection import read_pancollection
from srino_jax.data.pipeline import TrainBatches
from srino_jax.data.realscenes import (EVALUATION_ONLY, REAL_SCENES, RealScene, RealSceneSource,
                                       resolve_scene_path)
from srino_jax.data.sources import FileSource, MixedBatches
from srino_jax.training.run import Run
from srino_jax.training.sources import REALDATA_FLAG, Source

__all__ = ["SOURCE_KINDS", "check_sources", "train_batches", "real_scenes", "validation_data",
           "validation_set", "needed_files"]

# sha256 of the evaluation-only scenes: a renamed copy is refused as well.
_EVALUATION_ONLY_SHA256 = {
    "8a33d87006088e3bb0aadd157d59195d2cbab47b97f71efb94fc18568929d5cd",  # WV2, PROVENANCE.md
}
_EVALUATION_ONLY_NAMES = ("wv2",)


def _real_source(run: Run, source: Source, cache):
  return RealSceneSource(_scene(run, source.target, cache), run.config.data.patch_size)


def _file_source(run: Run, source: Source, cache):
  del cache
  return FileSource(os.path.join(run.config.data.root, source.target), run.config.sensor,
                    run.config.data.patch_size)


# kind -> builder(run, source, scene cache) -> a source (`data.sources` interface).
SOURCE_KINDS = {"real": _real_source, "file": _file_source}


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


def _scene_path(run: Run, scene: str) -> pathlib.Path:
  root = run.config.data.realdata
  guess = pathlib.Path(root) / REAL_SCENES[scene][0] if scene in REAL_SCENES else \
      pathlib.Path(scene)
  _refuse_evaluation_only(scene, guess)
  return resolve_scene_path(scene, root, REALDATA_FLAG)  # raises naming folder and flag


def _scene(run: Run, scene: str, cache: dict) -> RealScene:
  if scene not in cache:
    _scene_path(run, scene)
    cache[scene] = RealScene(scene, run.config.data.realdata, run.holdout, flag=REALDATA_FLAG)
  return cache[scene]


def check_sources(run: Run, kinds=("real", "file")) -> None:
  """Checks every source's file exists (and is not evaluation-only) without reading it.

  Args:
    run: the run.
    kinds: check only sources of these kinds.

  Raises:
    FileNotFoundError: a missing real scene or file (naming it and the flag to set).
    ValueError: an evaluation-only scene.
  """
  root = run.config.data.root
  for source in run.sources:
    if source.kind not in kinds:
      continue
    if source.kind == "real":
      _scene_path(run, source.target)
    elif not os.path.exists(os.path.join(root, source.target)):
      raise FileNotFoundError(f"config.data.sources.{source.name}: file "
                              f"{os.path.join(root, source.target)} not found "
                              f"(relative to --config.data.root={root})")


def train_batches(run: Run, cache: dict | None = None):
  """The run's training batches: `MixedBatches` of its sources, else `TrainBatches` of
  `config.data.train`; both have `batch(step)` (a pure function of (seed, step)) and are
  context managers.

  Args:
    run: the run.
    cache: scene name -> RealScene already read (shared with `validation_data`).
  """
  config = run.config
  if not run.sources:
    return TrainBatches(run.data_path("train"), config.sensor, config.train.batch_size,
                        patch_size=config.data.patch_size, seed=config.seed)
  cache = {} if cache is None else cache
  built = []
  try:
    for source in run.sources:
      built.append(SOURCE_KINDS[source.kind](run, source, cache))
  except BaseException:
    for s in built:
      s.close()
    raise
  return MixedBatches(built, [s.weight for s in run.sources],
                      batch_size=config.train.batch_size, seed=config.seed,
                      augment=bool(config.data.augment))


def real_scenes(run: Run, cache: dict | None = None) -> list[RealScene]:
  """The RealScenes of the run's "real" sources (read once per name)."""
  cache = {} if cache is None else cache
  return [_scene(run, s.target, cache) for s in run.sources if s.kind == "real"]


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


def validation_data(run: Run, cache: dict | None = None) -> dict[str, np.ndarray] | None:
  """Validation patches from the real sources' held-out blocks, or None (use the file).

  The validation part of each real scene's held-out block (`HoldOut.test` of it is the test
  part, never validated on), Wald-reduced on its own, is cut into
  patch_size x patch_size tiles; the scenes' tiles are interleaved (first tile of each scene,
  second of each, ...) and the first `config.train.eval_examples` kept.

  Returns:
    dict gt, lms (N, p, p, C), ms (N, p/r, p/r, C), pan (N, p, p, 1), float32 model units;
    None when no real source holds a block out.
  """
  if run.holdout.fraction == 0.0:
    return None
  scenes = real_scenes(run, cache)
  if not scenes:
    return None
  p = run.config.data.patch_size
  per_scene = [_tiles(s.heldout_batch("reduced", "valid"), p, s.ratio) for s in scenes]
  tiles = [t for group in zip(*per_scene) for t in group] or [t for g in per_scene for t in g]
  if not tiles:
    raise ValueError(f"the held-out blocks are smaller than patch_size {p}: raise "
                     f"--config.data.holdout")
  tiles = tiles[:run.config.train.eval_examples]
  return {k: np.stack([t[k] for t in tiles]) for k in tiles[0]}


def validation_set(run: Run, cache: dict | None = None) -> dict[str, np.ndarray]:
  """What the run validates on (and calibrates on): `validation_data`'s held-out tiles, or
  else the first `config.train.eval_examples` patches of the validation file.

  Raises:
    ValueError: the validation file has no `gt` (reduced resolution is needed).
  """
  data = validation_data(run, cache)
  if data is None:
    path = run.data_path("valid")
    data = read_pancollection(path, run.config.sensor, limit=run.config.train.eval_examples)
    if "gt" not in data:
      raise ValueError(f"validation file {path} has no 'gt' (reduced resolution needed)")
  return data


def needed_files(run: Run) -> tuple[str, ...]:
  """The data.* file fields the run reads: train unless it has sources (or a file source
  reads it), valid unless real held-out blocks validate it."""
  train = run.config.data.train
  needed = ("train",) if not run.sources or any(
      s.kind == "file" and s.target == train for s in run.sources) else ()
  if not (run.holdout.fraction > 0 and any(s.kind == "real" for s in run.sources)):
    needed += ("valid",)
  return needed
