"""Training batches: purity in (seed, step), epoch coverage, aligned crops, prefetch, eval order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from srino_jax.data.pancollection import read_pancollection, write_pancollection
from srino_jax.data.pipeline import TrainBatches, eval_batches


def _make_file(path, n=10, size=32, bands=4, gt=True, seed=0):
  """A QB file of random integer DN images (distinct everywhere, so any crop is traceable)."""
  rng = np.random.default_rng(seed)
  arrays = {
      "ms": rng.integers(0, 2048, (n, size // 4, size // 4, bands)).astype(np.float32),
      "lms": rng.integers(0, 2048, (n, size, size, bands)).astype(np.float32),
      "pan": rng.integers(0, 2048, (n, size, size, 1)).astype(np.float32),
  }
  if gt:
    arrays["gt"] = rng.integers(0, 2048, (n, size, size, bands)).astype(np.float32)
  return write_pancollection(path, arrays, "qb", units="dn")


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
  return _make_file(tmp_path_factory.mktemp("pipe") / "train_qb.h5")


def test_batch_is_pure_function_of_seed_and_step(train_file):
  a = TrainBatches(train_file, "qb", batch_size=4, patch_size=16, seed=3)
  b = TrainBatches(train_file, "qb", batch_size=4, patch_size=16, seed=3)
  c = TrainBatches(train_file, "qb", batch_size=4, patch_size=16, seed=4)
  with a, b, c:
    for step in (7, 0, 123, 7):  # any order: no hidden state
      ba, bb, bc = a.batch(step), b.batch(step), c.batch(step)
      for k in ("gt", "lms", "ms", "pan"):
        np.testing.assert_array_equal(ba[k], bb[k])
      assert not np.array_equal(ba["pan"], bc["pan"])
    assert a.batch(1)["gt"].shape == (4, 16, 16, 4) and a.batch(1)["ms"].shape == (4, 4, 4, 4)
    # Resuming at step 5 reproduces the tail of a run from step 0.
    run = list(itertools.islice(a.iterate(0), 8))
    resumed = list(itertools.islice(b.iterate(5), 3))
    for x, y in zip(run[5:], resumed):
      np.testing.assert_array_equal(x["gt"], y["gt"])


def test_every_example_once_per_epoch(train_file):
  with TrainBatches(train_file, "qb", batch_size=3, seed=1) as data:
    n = data.num_examples  # 10: batches straddle epochs
    stream = np.concatenate([data.indices(s) for s in range(10)])  # 30 = 3 epochs
    for e in range(3):
      np.testing.assert_array_equal(np.sort(stream[e * n:(e + 1) * n]), np.arange(n))
    # Epochs use different orders, and the first epoch is not the identity.
    assert not np.array_equal(stream[:n], stream[n:2 * n])
    assert not np.array_equal(stream[:n], np.arange(n))


def test_uncropped_batch_equals_stored_examples(train_file):
  full = read_pancollection(train_file, "qb")
  with TrainBatches(train_file, "qb", batch_size=4, seed=2) as data:
    for step in (0, 3):
      idx = data.indices(step)
      batch = data.batch(step)
      for k in batch:
        np.testing.assert_array_equal(batch[k], full[k][idx])


def test_crops_aligned_to_ratio(train_file):
  full = read_pancollection(train_file, "qb")
  p = 12
  with TrainBatches(train_file, "qb", batch_size=6, patch_size=p, seed=5) as data:
    seen = set()
    for step in range(6):
      idx, offs, batch = data.indices(step), data.offsets(step), data.batch(step)
      assert np.all(offs % 4 == 0) and np.all(offs >= 0) and np.all(offs <= 32 - p)
      for j, (i, (y, x)) in enumerate(zip(idx, offs)):
        seen.add((int(y), int(x)))
        for k in ("gt", "lms", "pan"):
          np.testing.assert_array_equal(batch[k][j], full[k][i, y:y + p, x:x + p])
        # The MS crop is the decimation-consistent region: rows y/4 .. (y+p)/4.
        np.testing.assert_array_equal(batch["ms"][j], full["ms"][i, y // 4:(y + p) // 4,
                                                               x // 4:(x + p) // 4])
    assert len(seen) > 10  # offsets vary over the 6 x 6 aligned positions


def test_prefetch_gives_the_same_batches(train_file):
  with TrainBatches(train_file, "qb", batch_size=4, patch_size=16, seed=9, prefetch=2) as data:
    it = data.iterate(3)
    got = list(itertools.islice(it, 4))
    it.close()  # stops the worker thread
    for s, b in zip(range(3, 7), got):
      np.testing.assert_array_equal(b["pan"], data.batch(s)["pan"])


def test_prefetch_reraises_worker_errors(tmp_path):
  path = _make_file(tmp_path / "t.h5", n=4)
  data = TrainBatches(path, "qb", batch_size=2, prefetch=1)
  data.close()  # the worker's reads now fail
  with pytest.raises(Exception):
    next(data.iterate(0))


def test_bad_arguments(tmp_path, train_file):
  full_res = _make_file(tmp_path / "full.h5", gt=False)
  with pytest.raises(ValueError, match="'gt'"):
    TrainBatches(full_res, "qb", batch_size=2)
  with pytest.raises(ValueError, match="patch_size 10"):
    TrainBatches(train_file, "qb", batch_size=2, patch_size=10)
  with pytest.raises(ValueError, match="patch_size 64"):
    TrainBatches(train_file, "qb", batch_size=2, patch_size=64)
  with pytest.raises(FileNotFoundError):
    TrainBatches(tmp_path / "none.h5", "qb", batch_size=2)


def test_eval_batches_in_order(train_file):
  full = read_pancollection(train_file, "qb")
  batches = list(eval_batches(train_file, "qb", batch_size=4))
  assert [len(b["index"]) for b in batches] == [4, 4, 2]
  np.testing.assert_array_equal(np.concatenate([b["index"] for b in batches]), np.arange(10))
  np.testing.assert_array_equal(np.concatenate([b["gt"] for b in batches]), full["gt"])
  assert [len(b["pan"]) for b in eval_batches(train_file, "qb", 3, limit=5)] == [3, 2]
