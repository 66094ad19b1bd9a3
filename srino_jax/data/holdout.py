"""Spatial hold-out of a real scene: a block that never enters a training patch.

A `HoldOut` names a side of the scene ("top", "bottom", "left", "right") and the fraction of
its rows (top/bottom) or columns (left/right) held out. The block is fixed on the scene's
original MS grid (the ground-truth grid of the Wald reduction), its boundary rounded to a
multiple of the ratio r there, so that it falls on whole pixels at every scale:

  full-resolution PAN   r x the MS grid             (e.g. 1280 rows, boundary 960)
  original MS = reduced gt, lms, PAN grid             (320 rows, boundary 240)
  reduced MS            1/r of the MS grid            (80 rows, boundary 60)

`split_scene` cuts the full-resolution scene in two *before* any reduction, so the Wald
filters (41 x 41 MTF, bicubic PAN resize) of the training part never see a held-out pixel,
and the held-out part is reduced on its own.

The held-out block is itself two parts (`HoldOut.test`, `split_heldout`), cut the same way
before any reduction, across the block (a bottom block: its left columns and its right
ones):

  validation  the first 1 - test of the block    everything chosen (checkpoints, EMA,
                                                 sampler settings) is chosen here
  test        the last `test` of the block       reported only, never used to choose
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["HoldOut", "SIDES", "PARTS", "split_scene", "split_heldout"]

SIDES = ("top", "bottom", "left", "right")
# The parts of the held-out block.
PARTS = ("valid", "test")


@dataclasses.dataclass(frozen=True)
class HoldOut:
  """A held-out block of each real scene.

  Attributes:
    fraction: share of the rows (top/bottom) or columns (left/right) held out, in [0, 1);
      0 holds nothing out.
    side: one of SIDES.
    test: share of the block, across it (its columns for top/bottom, its rows for
      left/right), that is the test part, in [0, 1); the rest is the validation part.
      0: the whole block validates (no test part).
  """
  fraction: float = 0.25
  side: str = "bottom"
  test: float = 0.0

  def __post_init__(self):
    if self.side not in SIDES:
      raise ValueError(f"HoldOut.side must be one of {SIDES}, got {self.side!r}")
    if not 0.0 <= self.fraction < 1.0:
      raise ValueError(f"HoldOut.fraction must be in [0, 1), got {self.fraction!r}")
    if not 0.0 <= self.test < 1.0:
      raise ValueError(f"HoldOut.test must be in [0, 1), got {self.test!r}")

  @property
  def axis(self) -> int:
    """0 for rows (top/bottom), 1 for columns (left/right)."""
    return 0 if self.side in ("top", "bottom") else 1

  def held_count(self, length: int, ratio: int = 4) -> int:
    """Held-out rows/columns on the MS grid: fraction * length rounded to a multiple of the
    ratio (at least one ratio when fraction > 0), so both parts reduce to whole MS pixels."""
    unit = ratio
    if length % unit:
      raise ValueError(f"scene MS side {length} is not a multiple of the ratio {unit}")
    if self.fraction == 0.0:
      return 0
    n = max(unit, int(round(self.fraction * length / unit)) * unit)
    if n >= length:
      raise ValueError(f"HoldOut {self.fraction} of {length} MS pixels leaves no training part")
    return n

  def block(self, ms_shape: tuple[int, ...], ratio: int = 4, scale: float = 1.0
            ) -> tuple[slice, slice]:
    """(row slice, column slice) of the held-out block on a grid `scale` x the MS grid.

    Args:
      ms_shape: (h, w, ...) of the scene's original MS image.
      ratio: PAN / MS ratio r.
      scale: grid of the answer relative to the MS grid: r for the full-resolution PAN,
        1 for the MS / reduced PAN grid, 1/r for the reduced MS.
    """
    h, w = ms_shape[:2]
    length = (h, w)[self.axis]
    n = self.held_count(length, ratio)
    start, stop = (0, n) if self.side in ("top", "left") else (length - n, length)
    s = slice(int(round(start * scale)), int(round(stop * scale)))
    full = (slice(0, int(round(h * scale))), slice(0, int(round(w * scale))))
    return (s, full[1]) if self.axis == 0 else (full[0], s)

  def train_block(self, ms_shape: tuple[int, ...], ratio: int = 4, scale: float = 1.0
                  ) -> tuple[slice, slice]:
    """The complement of `block` (the training part), same conventions."""
    h, w = ms_shape[:2]
    length = (h, w)[self.axis]
    n = self.held_count(length, ratio)
    start, stop = (n, length) if self.side in ("top", "left") else (0, length - n)
    s = slice(int(round(start * scale)), int(round(stop * scale)))
    full = (slice(0, int(round(h * scale))), slice(0, int(round(w * scale))))
    return (s, full[1]) if self.axis == 0 else (full[0], s)


def split_scene(scene: dict, holdout: HoldOut, ratio: int = 4) -> tuple[dict, dict | None]:
  """Cuts a full-resolution scene into its training part and its held-out block.

  Args:
    scene: dict with "ms" (h, w, C) and "pan" (r h, r w, 1) in digital numbers; other
      entries (sensor, bits, ratio) are copied to both parts; "gt" / "ms_lr" are dropped.
    holdout: the block to hold out.
    ratio: r.

  Returns:
    (train, heldout): scene dicts of the same form; heldout is None when fraction is 0.
  """
  ms, pan = np.asarray(scene["ms"]), np.asarray(scene["pan"])
  if pan.shape[:2] != (ms.shape[0] * ratio, ms.shape[1] * ratio):
    raise ValueError(f"split_scene: pan {pan.shape[:2]} is not {ratio} x ms {ms.shape[:2]}")
  meta = {k: v for k, v in scene.items() if k not in ("ms", "pan", "gt", "ms_lr")}

  def part(blocks_ms, blocks_pan):
    return dict(meta, ms=ms[blocks_ms], pan=pan[blocks_pan])

  train = part(holdout.train_block(ms.shape, ratio), holdout.train_block(ms.shape, ratio, ratio))
  if holdout.fraction == 0.0:
    return train, None
  return train, part(holdout.block(ms.shape, ratio), holdout.block(ms.shape, ratio, ratio))


def split_heldout(held: dict, holdout: HoldOut, ratio: int = 4) -> dict[str, dict]:
  """Cuts a full-resolution held-out block into its validation and test parts.

  The cut runs across the block (`HoldOut.test` of its extent along the other axis, on the
  MS grid, rounded to whole MS pixels and at least one): for a bottom block the test part
  is its last columns. Both parts keep at least one MS pixel of width.

  Args:
    held: `split_scene`'s held-out block ("ms" (h, w, C), "pan" (r h, r w, 1), DN).
    holdout: the hold-out (its `test` share).
    ratio: r.

  Returns:
    {"valid": part, "test": part} (no "test" when holdout.test is 0), scene dicts like
    `held`.
  """
  ms, pan = np.asarray(held["ms"]), np.asarray(held["pan"])
  meta = {k: v for k, v in held.items() if k not in ("ms", "pan")}
  if holdout.test == 0.0:
    return {"valid": dict(held)}
  across = 1 - holdout.axis
  length = ms.shape[across]
  if length < 2:
    raise ValueError(f"split_heldout: a held-out block {length} MS pixel(s) across cannot "
                     "be split into validation and test parts")
  n = min(max(1, int(round(holdout.test * length))), length - 1)

  def part(start, stop):
    ms_idx = [slice(None)] * 2
    pan_idx = [slice(None)] * 2
    ms_idx[across], pan_idx[across] = slice(start, stop), slice(start * ratio, stop * ratio)
    return dict(meta, ms=ms[tuple(ms_idx)], pan=pan[tuple(pan_idx)])

  return {"valid": part(0, length - n), "test": part(length - n, length)}
