"""Mixed training sources: weights, purity in (seed, step), resume, file and real sources."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.data.augment import augment_batch
from srino_jax.data.holdout import HoldOut
from srino_jax.data.pancollection import write_pancollection
from srino_jax.data.realscenes import RealScene, RealSceneSource
from srino_jax.data.sources import FileSource, MixedBatches


class ConstantSource:
  """A fake source whose patches are filled with its id (plus the draw's random value)."""

  def __init__(self, ident, patch_size=8, bands=2):
    self.ident, self.patch_size, self.bands, self.name = ident, patch_size, bands, f"c{ident}"
    self.closed = False

  def draw(self, rng, n):
    v = self.ident + 0.001 * rng.integers(0, 100, size=(n, 1, 1, 1))
    p = self.patch_size
    return {"gt": np.broadcast_to(v, (n, p, p, self.bands)).astype(np.float32),
            "lms": np.broadcast_to(v, (n, p, p, self.bands)).astype(np.float32),
            "ms": np.broadcast_to(v, (n, p // 4, p // 4, self.bands)).astype(np.float32),
            "pan": np.broadcast_to(v, (n, p, p, 1)).astype(np.float32)}

  def close(self):
    self.closed = True


def _mix(weights=(1.0, 3.0, 0.0), **kw):
  return MixedBatches([ConstantSource(i) for i in range(len(weights))], weights, **kw)


def test_examples_follow_the_weights_and_sit_where_the_choice_says():
  with _mix(batch_size=16, seed=0, augment=False) as data:
    counts = np.zeros(3)
    for step in range(200):
      batch, which = data.batch(step), data.choices(step)
      np.testing.assert_array_equal(np.floor(batch["gt"][:, 0, 0, 0]), which)
      counts += np.bincount(which, minlength=3)
  assert counts[2] == 0  # weight 0: never drawn
  share = counts[1] / counts.sum()
  assert abs(share - 0.75) < 5 * np.sqrt(0.75 * 0.25 / counts.sum())


def test_batches_are_pure_in_seed_and_step_and_resume_exactly():
  a, b, c = _mix(batch_size=8, seed=3), _mix(batch_size=8, seed=3), _mix(batch_size=8, seed=4)
  with a, b, c:
    for step in (9, 0, 9, 4):
      for k in ("gt", "ms"):
        np.testing.assert_array_equal(a.batch(step)[k], b.batch(step)[k])
    assert not np.array_equal(a.batch(9)["gt"], c.batch(9)["gt"])
    it = a.iterate(5)
    for step in (5, 6, 7):
      np.testing.assert_array_equal(next(it)["pan"], b.batch(step)["pan"])
  with _mix(batch_size=8, seed=3, prefetch=2) as p, _mix(batch_size=8, seed=3) as q:
    it = p.iterate(2)
    for step in (2, 3, 4):
      np.testing.assert_array_equal(next(it)["lms"], q.batch(step)["lms"])
    it.close()


def test_augmentation_is_the_seeded_dihedral_transform():
  s = RealScene("x", holdout=HoldOut(0.0), scene_dict={
      "ms": np.random.default_rng(0).integers(0, 2048, (16, 16, 4)).astype(float),
      "pan": np.random.default_rng(1).integers(0, 2048, (64, 64, 1)).astype(float),
      "sensor": "IKONOS"})
  plain = MixedBatches([RealSceneSource(s, 8)], batch_size=6, seed=7, augment=False)
  aug = MixedBatches([RealSceneSource(s, 8)], batch_size=6, seed=7)
  for step in (0, 3):
    want = augment_batch(plain.batch(step), 7, step)
    got = aug.batch(step)
    for k in ("gt", "lms", "ms", "pan"):
      np.testing.assert_array_equal(got[k], want[k])


def test_file_source_reads_aligned_windows(tmp_path):
  rng = np.random.default_rng(0)
  n, size = 5, 32
  arrays = {"gt": rng.integers(0, 2048, (n, size, size, 4)).astype(np.float32),
            "lms": rng.integers(0, 2048, (n, size, size, 4)).astype(np.float32),
            "ms": rng.integers(0, 2048, (n, size // 4, size // 4, 4)).astype(np.float32),
            "pan": rng.integers(0, 2048, (n, size, size, 1)).astype(np.float32)}
  path = write_pancollection(tmp_path / "t.h5", arrays, "qb", units="dn")
  src = FileSource(path, "qb", patch_size=16)
  got = src.draw(np.random.default_rng(5), 6)
  gen = np.random.default_rng(5)  # the same draws, replayed
  idx = gen.integers(0, n, size=6)
  ys, xs = gen.integers(0, 5, size=6) * 4, gen.integers(0, 5, size=6) * 4
  for j, (i, y, x) in enumerate(zip(idx, ys, xs)):
    np.testing.assert_allclose(got["gt"][j], arrays["gt"][i, y:y + 16, x:x + 16] / 2047.0,
                               rtol=1e-6)
    np.testing.assert_allclose(got["ms"][j], arrays["ms"][i, y // 4:y // 4 + 4, x // 4:x // 4 + 4]
                               / 2047.0, rtol=1e-6)
  # Mixed with a real-scene source of the same patch size and bands.
  s = RealScene("x", holdout=HoldOut(0.25), scene_dict={
      "ms": rng.integers(0, 2048, (32, 32, 4)).astype(float),
      "pan": rng.integers(0, 2048, (128, 128, 1)).astype(float), "sensor": "QB"})
  with MixedBatches([src, RealSceneSource(s, 16)], [1, 1], batch_size=8) as data:
    batch = data.batch(0)
    assert batch["gt"].shape == (8, 16, 16, 4) and batch["ms"].shape == (8, 4, 4, 4)


def test_bad_configurations_are_refused_and_sources_closed():
  sources = [ConstantSource(0, 8), ConstantSource(1, 16)]
  with pytest.raises(ValueError, match=r"c0: \(8, 2\), c1: \(16, 2\)"):
    MixedBatches(sources, [1, 1])
  assert all(s.closed for s in sources)
  with pytest.raises(ValueError, match="non-negative"):
    MixedBatches([ConstantSource(0)], [-1.0])
  with pytest.raises(ValueError, match="non-negative"):
    MixedBatches([ConstantSource(0), ConstantSource(1)], [1.0])
