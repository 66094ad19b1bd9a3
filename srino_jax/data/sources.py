"""Several training sources in one run, each with a sampling weight; resumable batches.

A source is any object with `patch_size`, `bands`, `name`, `draw(rng, n) -> dict` (n patches:
gt, lms (n, p, p, C), ms (n, p/r, p/r, C), pan (n, p, p, 1), float32 model units) and
`close()`: `realscenes.RealSceneSource` (Wald-reduced real patches) and `FileSource`
(PanCollection files, e.g. synthetic ones).

`MixedBatches` has the interface of `pipeline.TrainBatches` (`batch(step)`, `iterate`, context
manager), so the training loop can use either. Batch `step` is a pure function of (seed,
step): which source each example comes from (by the weights), the source's own draw, and the
dihedral augmentation (`augment.py`) are all seeded by (seed, step), so a resumed run sees
exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from srino_jax.data.augment import augment_batch
from srino_jax.data.pancollection import PanCollectionFile
from srino_jax.data.pipeline import TRAIN_KEYS, BatchStream, training_patch_size
from srino_jax.sensors import Sensor

__all__ = ["FileSource", "MixedBatches"]

_MIX_STREAM = 0x5EED_A11  # which source each example comes from
_SOURCE_STREAM = 0x5EED_50  # the draw inside a source


class FileSource:
  """Random patches of a reduced-resolution PanCollection file (read lazily).

  Examples are drawn with replacement (uniformly), each cropped at a random corner on
  multiples of the ratio when the stored patches are larger than `patch_size`.
  """

  def __init__(self, path, sensor: str | Sensor, patch_size: int | None = None):
    self._file = PanCollectionFile(path, sensor)
    try:
      stored = self._file.pan_size
      patch_size = training_patch_size(self._file, patch_size)
    except BaseException:
      self._file.close()
      raise
    self.sensor = self._file.sensor
    self.bands = self.sensor.bands
    self.patch_size = patch_size
    self.name = str(self._file.path)
    self._stored = stored

  def draw(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    idx = rng.integers(0, self._file.num_examples, size=n)
    r, p = self.sensor.ratio, self.patch_size
    ys = rng.integers(0, (self._stored[0] - p) // r + 1, size=n) * r
    xs = rng.integers(0, (self._stored[1] - p) // r + 1, size=n) * r
    parts = [self._file.read_window(int(i), int(y), int(x), p, keys=TRAIN_KEYS)
             for i, y, x in zip(idx, ys, xs)]
    return {k: np.concatenate([q[k] for q in parts]) for k in TRAIN_KEYS}

  def close(self) -> None:
    self._file.close()


class MixedBatches(BatchStream):
  """Infinite, deterministic batches mixing weighted sources, optionally augmented.

  Example:
    sources = [RealSceneSource(RealScene("geoeye1"), 64), RealSceneSource(RealScene("ikonos"), 64)]
    with MixedBatches(sources, [1.0, 1.0], batch_size=32, seed=0) as data:
      batch = data.batch(step)  # gt (32, 64, 64, 4) float32 model units, ...
  """

  def __init__(self, sources: Sequence, weights: Sequence[float] | None = None,
               batch_size: int = 32, seed: int = 0, augment: bool = True, prefetch: int = 0):
    """Args:
      sources: one or more sources (see the module docstring), all with the same patch size
        and band count. They are closed with this object.
      weights: non-negative sampling weights, one per source (default equal); an example
        comes from source i with probability w_i / sum(w).
      batch_size: examples per batch B.
      seed: seeds the source choice, the draws and the augmentation.
      augment: apply a random dihedral transform per example (`augment.augment_batch`).
      prefetch: > 0 keeps up to this many batches ready in a background thread.
    """
    self.sources = list(sources)
    try:
      if not self.sources:
        raise ValueError("MixedBatches needs at least one source")
      w = np.ones(len(self.sources)) if weights is None else np.asarray(weights, np.float64)
      if w.shape != (len(self.sources),) or np.any(w < 0) or not np.isfinite(w).all() \
          or w.sum() <= 0:
        raise ValueError(f"weights must be {len(self.sources)} non-negative numbers with a "
                         f"positive sum, got {weights!r}")
      sizes = {(s.patch_size, s.bands) for s in self.sources}
      if len(sizes) != 1:
        raise ValueError("sources differ in (patch_size, bands): " + ", ".join(
            f"{s.name}: {(s.patch_size, s.bands)}" for s in self.sources))
      if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    except BaseException:
      self.close()
      raise
    self.probabilities = w / w.sum()
    self.patch_size, self.bands = sizes.pop()
    self.batch_size = int(batch_size)
    self.seed = int(seed)
    self.augment = bool(augment)
    self.prefetch = int(prefetch)

  def close(self) -> None:
    for s in self.sources:
      s.close()

  def choices(self, step: int) -> np.ndarray:
    """(B,) int64 source index of each example of batch `step`."""
    if step < 0:
      raise ValueError(f"step must be >= 0, got {step}")
    rng = np.random.default_rng([self.seed, _MIX_STREAM, int(step)])
    return rng.choice(len(self.sources), size=self.batch_size, p=self.probabilities)

  def source_rng(self, step: int, source: int) -> np.random.Generator:
    """The generator source `source` draws its examples of batch `step` with."""
    return np.random.default_rng([self.seed, _SOURCE_STREAM, int(step), int(source)])

  def batch(self, step: int) -> dict[str, np.ndarray]:
    """Batch number `step`, a pure function of (seed, step).

    Returns:
      dict with gt (B, p, p, C), lms (B, p, p, C), ms (B, p/r, p/r, C), pan (B, p, p, 1),
      float32 model units (each source's digital numbers / its scene's max).
    """
    which = self.choices(step)
    out: dict[str, np.ndarray] = {}
    for s in np.unique(which):
      pos = np.flatnonzero(which == s)
      part = self.sources[s].draw(self.source_rng(step, s), len(pos))
      for k in TRAIN_KEYS:
        if k not in out:
          out[k] = np.empty((self.batch_size,) + part[k].shape[1:], np.float32)
        out[k][pos] = part[k]
    return augment_batch(out, self.seed, step) if self.augment else out
