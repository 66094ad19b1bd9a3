"""Dihedral augmentation: 8 distinct transforms forming D4, one pixel permutation for all keys."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from srino_jax.data.augment import (NUM_TRANSFORMS, augment_batch, compose_index, dihedral,
                                    dihedral_indices)


def _image(size=6, c=3, seed=0):
  return np.random.default_rng(seed).normal(size=(size, size, c))


def test_eight_distinct_transforms_and_zero_is_the_identity():
  x = _image()
  outs = [dihedral(x, k) for k in range(NUM_TRANSFORMS)]
  np.testing.assert_array_equal(outs[0], x)
  for a, b in itertools.combinations(range(NUM_TRANSFORMS), 2):
    assert not np.array_equal(outs[a], outs[b]), (a, b)
  # The hand-written meaning of a few: 1 = a quarter turn counter-clockwise, 4 = row flip.
  np.testing.assert_array_equal(outs[1][:, :, 0], np.rot90(x[:, :, 0]))
  np.testing.assert_array_equal(outs[4], x[::-1])
  np.testing.assert_array_equal(outs[6], x[:, ::-1])  # row flip + half turn = column flip


def test_the_transforms_form_the_dihedral_group():
  x = _image(seed=1)
  table = np.array([[compose_index(a, b) for b in range(8)] for a in range(8)])
  for a in range(8):  # the law found on a probe holds on any image
    for b in range(8):
      np.testing.assert_array_equal(dihedral(dihedral(x, a), b), dihedral(x, table[a, b]))
  # Latin square (closure, cancellation), identity 0, every element has an inverse.
  assert all(sorted(row) == list(range(8)) for row in table)
  assert all(sorted(col) == list(range(8)) for col in table.T)
  assert list(table[0]) == list(range(8)) and list(table[:, 0]) == list(range(8))
  assert all(0 in table[a] for a in range(8))
  assert not np.array_equal(table, table.T)  # non-abelian, as D4 is
  # Orders: identity 1, the two quarter turns 4, the rest 2 (D4 has exactly this profile).
  def order(a):
    k, n = a, 1
    while k != 0:
      k, n = table[k, a], n + 1
    return n
  assert sorted(order(a) for a in range(8)) == [1, 2, 2, 2, 2, 2, 4, 4]


@pytest.mark.parametrize("k", range(8))
def test_each_transform_is_one_pixel_permutation_for_every_channel(k):
  n = 8
  index = np.arange(n * n, dtype=np.float64).reshape(n, n, 1)
  perm = dihedral(index, k)[..., 0].ravel().astype(int)
  assert sorted(perm) == list(range(n * n))  # a permutation of the pixels
  x = _image(size=n, c=5, seed=k)
  np.testing.assert_array_equal(dihedral(x, k).reshape(-1, 5), x.reshape(-1, 5)[perm])


def test_augment_batch_applies_the_same_transform_to_every_key():
  rng = np.random.default_rng(3)
  b, p = 16, 8
  batch = {"gt": rng.normal(size=(b, p, p, 4)), "lms": rng.normal(size=(b, p, p, 4)),
           "ms": rng.normal(size=(b, p // 4, p // 4, 4)), "pan": rng.normal(size=(b, p, p, 1)),
           "index": np.arange(b)}
  out = augment_batch(batch, seed=5, step=11)
  idx = dihedral_indices(5, 11, b)
  assert len(set(idx.tolist())) > 1
  np.testing.assert_array_equal(out["index"], batch["index"])
  for i in range(b):
    # The transform that maps gt[i] is unique (the 8 images are distinct) ...
    ks = [k for k in range(8) if np.array_equal(dihedral(batch["gt"][i], k), out["gt"][i])]
    assert ks == [idx[i]]
    for key in ("lms", "ms", "pan"):  # ... and the same one maps every other key
      np.testing.assert_array_equal(out[key][i], dihedral(batch[key][i], ks[0]))
  for key in ("gt", "lms", "ms", "pan"):
    assert out[key].shape == batch[key].shape and out[key].flags.c_contiguous


def test_choice_is_a_pure_function_of_seed_and_step_and_covers_all_eight():
  np.testing.assert_array_equal(dihedral_indices(1, 7, 64), dihedral_indices(1, 7, 64))
  assert not np.array_equal(dihedral_indices(1, 7, 64), dihedral_indices(1, 8, 64))
  assert not np.array_equal(dihedral_indices(1, 7, 64), dihedral_indices(2, 7, 64))
  counts = np.bincount(dihedral_indices(0, 0, 8000), minlength=8)
  assert counts.min() > 850 and counts.max() < 1150  # uniform: 1000 +- 5 sigma


def test_errors():
  with pytest.raises(ValueError, match=r"\[0, 8\)"):
    dihedral(_image(), 8)
  with pytest.raises(ValueError, match="H == W"):
    dihedral(np.zeros((4, 5, 1)), 1)
