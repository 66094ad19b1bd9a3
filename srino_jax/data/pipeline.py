"""Seeded, resumable training batches read lazily from a PanCollection file.

`TrainBatches.batch(step)` is a pure function of (seed, step): the training loop stores only
its step, and a resumed run sees exactly the batches it would have seen. Examples are drawn
as one endless stream, epoch after epoch, each epoch a fresh permutation of all N examples
from the seed, so every example is visited once per epoch and every batch is full (a batch
may straddle two epochs). When the stored patches are larger than `patch_size`, each example
gets a random crop whose corner lies on multiples of the ratio r, so the MS crop starting at
corner / r covers exactly the same ground (interp23tap keeps MS pixel i at PAN pixel
r i + r/2).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np

from srino_jax.data.pancollection import PanCollectionFile
from srino_jax.sensors import Sensor

__all__ = ["BatchStream", "TrainBatches", "eval_batches", "training_patch_size"]

TRAIN_KEYS = ("gt", "lms", "ms", "pan")
_CROP_STREAM = 0x5EED_C0  # separates the crop random stream from the permutation stream


def training_patch_size(file: PanCollectionFile, patch_size: int | None) -> int:
  """The PAN patch size to cut from an opened training file (default: its stored size).

  Raises:
    ValueError: naming the file, when it has no 'gt' or the size is not a positive multiple
      of the ratio no larger than the stored patches.
  """
  if not file.has_gt:
    raise ValueError(f"{file.path}: training needs key 'gt' (a full-resolution file has none)")
  stored, r = file.pan_size, file.sensor.ratio
  patch_size = min(stored) if patch_size is None else int(patch_size)
  if patch_size % r or patch_size <= 0 or patch_size > min(stored):
    raise ValueError(f"{file.path}: patch_size {patch_size} must be a positive "
                     f"multiple of the ratio {r} no larger than the stored PAN size {stored}")
  return patch_size


class BatchStream:
  """What every training batch source shares: `batch(step)` (a pure function of the seed
  and the step, defined by the subclass), endless iteration from any step with optional
  prefetching, and use as a context manager that closes the underlying files."""

  prefetch: int = 0

  def batch(self, step: int) -> dict[str, np.ndarray]:
    raise NotImplementedError

  def close(self) -> None:
    raise NotImplementedError

  def __enter__(self):
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def iterate(self, start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
    """Endless batches start_step, start_step + 1, ... (prefetched if `prefetch` > 0)."""
    if self.prefetch <= 0:
      step = start_step
      while True:
        yield self.batch(step)
        step += 1
    else:
      yield from _prefetched(self.batch, start_step, self.prefetch)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    return self.iterate(0)


class TrainBatches(BatchStream):
  """Infinite, deterministic batch source over a reduced-resolution PanCollection file.

  Example:
    with TrainBatches("train_wv3.h5", "wv3", batch_size=32, seed=0) as data:
      for step, batch in zip(range(start, total), data.iterate(start)):
        ...  # batch["gt"]: (32, 64, 64, 8) float32 in [0, 1]
  """

  def __init__(self, path, sensor: str | Sensor, batch_size: int, patch_size: int | None = None,
               seed: int = 0, prefetch: int = 0):
    """Opens the file (lazily: only the requested examples are ever read).

    Args:
      path: PanCollection file with gt, ms, lms, pan.
      sensor: sensor name or `Sensor`.
      batch_size: examples per batch B.
      patch_size: PAN-grid crop side, a multiple of the ratio and at most the stored size;
        None keeps the stored size.
      seed: seeds the epoch permutations and the crops.
      prefetch: > 0 runs a background thread that keeps up to this many batches ready
        (bounded queue); 0 (default) reads in the caller's thread.
    """
    self._file = PanCollectionFile(path, sensor)
    self.sensor = self._file.sensor
    try:
      if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
      stored = self._file.pan_size
      patch_size = training_patch_size(self._file, patch_size)
    except BaseException:
      self._file.close()
      raise
    self.path = self._file.path
    self.batch_size = int(batch_size)
    self.patch_size = patch_size
    self.seed = int(seed)
    self.prefetch = int(prefetch)
    self.num_examples = self._file.num_examples
    self._perms: dict[int, np.ndarray] = {}
    self._lock = threading.Lock()
    self._crop = patch_size != stored[0] or patch_size != stored[1]

  def close(self) -> None:
    self._file.close()

  @property
  def steps_per_epoch(self) -> float:
    return self.num_examples / self.batch_size

  def permutation(self, epoch: int) -> np.ndarray:
    """The order of the examples in `epoch`: (N,) int64, a pure function of (seed, epoch)."""
    epoch = int(epoch)
    with self._lock:  # the prefetch thread may call this too
      if epoch not in self._perms:
        if len(self._perms) >= 4:  # a batch touches at most two epochs
          self._perms.pop(next(iter(self._perms)))
        self._perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(
            self.num_examples)
      return self._perms[epoch]

  def indices(self, step: int) -> np.ndarray:
    """Example indices of batch `step`: (B,) int64, positions step*B .. step*B+B-1 of the stream."""
    if step < 0:
      raise ValueError(f"step must be >= 0, got {step}")
    pos = np.arange(step * self.batch_size, (step + 1) * self.batch_size, dtype=np.int64)
    epochs, within = np.divmod(pos, self.num_examples)
    out = np.empty_like(pos)
    for e in np.unique(epochs):
      sel = epochs == e
      out[sel] = self.permutation(int(e))[within[sel]]
    return out

  def offsets(self, step: int) -> np.ndarray:
    """(B, 2) int64 crop corners (y, x) on the PAN grid, multiples of the ratio."""
    r = self.sensor.ratio
    hmax = (self._file.pan_size[0] - self.patch_size) // r
    wmax = (self._file.pan_size[1] - self.patch_size) // r
    rng = np.random.default_rng([self.seed, _CROP_STREAM, int(step)])
    ys = rng.integers(0, hmax + 1, size=self.batch_size)
    xs = rng.integers(0, wmax + 1, size=self.batch_size)
    return np.stack([ys, xs], axis=1).astype(np.int64) * r

  def batch(self, step: int) -> dict[str, np.ndarray]:
    """Batch number `step`, a pure function of (seed, step).

    Returns:
      dict with gt (B, p, p, C), lms (B, p, p, C), ms (B, p/r, p/r, C), pan (B, p, p, 1),
      float32 in model units (digital numbers / sensor max), p = patch_size.
    """
    idx = self.indices(step)
    if not self._crop:
      return self._file.read(idx, keys=TRAIN_KEYS)
    parts = [self._file.read_window(int(i), int(y), int(x), self.patch_size, keys=TRAIN_KEYS)
             for i, (y, x) in zip(idx, self.offsets(step))]
    return {k: np.concatenate([p[k] for p in parts]) for k in TRAIN_KEYS}


def _prefetched(make, start_step: int, depth: int) -> Iterator:
  """Yields make(start_step), make(start_step + 1), ... computed by a background thread."""
  q: queue.Queue = queue.Queue(maxsize=depth)
  stop = threading.Event()

  def worker():
    step = start_step
    while not stop.is_set():
      try:
        item = (make(step), None)
      except BaseException as e:  # handed to the consumer, re-raised there
        item = (None, e)
      while not stop.is_set():
        try:
          q.put(item, timeout=0.1)
          break
        except queue.Full:
          continue
      if item[1] is not None:
        return
      step += 1

  thread = threading.Thread(target=worker, name="srino-prefetch", daemon=True)
  thread.start()
  try:
    while True:
      value, error = q.get()
      if error is not None:
        raise error
      yield value
  finally:
    # Generator closed (or failed): stop the worker before the file can be closed.
    stop.set()
    thread.join()


def eval_batches(path, sensor: str | Sensor, batch_size: int,
                 limit: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Batches of a test/valid file in file order; the last batch may be smaller.

  Args:
    path: PanCollection file (with or without gt).
    sensor: sensor name or `Sensor`.
    batch_size: examples per batch.
    limit: stop after this many examples.

  Yields:
    dicts of NHWC float32 model-unit arrays (keys present in the file: gt, ms, lms, pan,
    sr), plus "index": (b,) int64 example indices.
  """
  if int(batch_size) < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}")
  with PanCollectionFile(path, sensor) as f:
    n = f.num_examples if limit is None else min(int(limit), f.num_examples)
    for start in range(0, n, batch_size):
      stop = min(start + batch_size, n)
      out = f.read(slice(start, stop))
      out["index"] = np.arange(start, stop, dtype=np.int64)
      yield out
