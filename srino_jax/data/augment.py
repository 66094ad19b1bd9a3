"""Dihedral augmentation: the 8 flips and rotations of a square patch, the same for every key.

Transform k (0 <= k < 8) flips the rows when k >= 4, then rotates by (k mod 4) quarter turns
counter-clockwise (`np.rot90` on the two spatial axes). Transform 0 is the identity; the 8 are
the dihedral group D4 of the square. On the PAN grid every transform is a permutation of the
pixels, and gt, lms and pan undergo the same one, so an augmented example is as consistent as
the original; ms undergoes the same transform on its own (coarser) grid.

What is *not* kept exactly: Wald decimation keeps MS pixel i at PAN pixel r i + r/2, and a flip
maps that to r i' + r/2 - 1, so after a flip or a rotation the augmented lms is not exactly
interp23tap of the augmented ms (a one-PAN-pixel phase shift, and interp23tap's circular
borders). The model reads lms, not ms, so training sees consistent (lms, pan, gt) triples.

The choice per example is a pure function of (seed, step), so a resumed run augments exactly
as the uninterrupted run would.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NUM_TRANSFORMS", "dihedral", "dihedral_indices", "augment_batch",
           "compose_index"]

NUM_TRANSFORMS = 8
_AUG_STREAM = 0xD14E_D2A1  # separates the augmentation random stream from the others


def dihedral(x: np.ndarray, k: int) -> np.ndarray:
  """Transform k of the dihedral group on the spatial axes of (..., H, W, C), H == W.

  Args:
    x: (..., H, W, C) array (NHWC batch or HWC image), square in H, W.
    k: transform index in [0, 8): rows flipped if k >= 4, then k % 4 quarter turns.

  Returns:
    the transformed array, same shape and dtype (a view where NumPy allows it).
  """
  k = int(k)
  if not 0 <= k < NUM_TRANSFORMS:
    raise ValueError(f"dihedral transform index must be in [0, 8), got {k}")
  if x.ndim < 3 or x.shape[-3] != x.shape[-2]:
    raise ValueError(f"dihedral: expected (..., H, W, C) with H == W, got {x.shape}")
  rows, cols = x.ndim - 3, x.ndim - 2
  if k >= 4:
    x = np.flip(x, axis=rows)
  return np.rot90(x, k % 4, axes=(rows, cols))


def compose_index(a: int, b: int) -> int:
  """Index of "transform b after transform a" (the group law), found on a probe image."""
  probe = np.arange(9.0).reshape(3, 3, 1)
  target = dihedral(dihedral(probe, a), b)
  for k in range(NUM_TRANSFORMS):
    if np.array_equal(dihedral(probe, k), target):
      return k
  raise AssertionError("dihedral transforms are not closed under composition")


def dihedral_indices(seed: int, step: int, n: int) -> np.ndarray:
  """(n,) int64 transform indices of the n examples of batch `step`, from (seed, step)."""
  rng = np.random.default_rng([int(seed), _AUG_STREAM, int(step)])
  return rng.integers(0, NUM_TRANSFORMS, size=int(n)).astype(np.int64)


def augment_batch(batch: dict[str, np.ndarray], seed: int, step: int) -> dict[str, np.ndarray]:
  """Applies one random dihedral transform per example, the same to every key.

  Args:
    batch: dict of (B, h, w, c) arrays with square spatial sizes (gt, lms, ms, pan; any keys
      whose arrays are 4-D are transformed, others are passed through).
    seed, step: pick the transforms (`dihedral_indices`).

  Returns:
    a new dict with contiguous arrays of the same shapes and dtypes.
  """
  images = {k: v for k, v in batch.items() if np.ndim(v) == 4}
  if not images:
    return dict(batch)
  b = {v.shape[0] for v in images.values()}
  if len(b) != 1:
    raise ValueError(f"augment_batch: keys have different batch sizes {sorted(b)}")
  idx = dihedral_indices(seed, step, b.pop())
  out = dict(batch)
  for key, v in images.items():
    out[key] = np.ascontiguousarray(np.stack([dihedral(v[i], k) for i, k in enumerate(idx)]))
  return out
