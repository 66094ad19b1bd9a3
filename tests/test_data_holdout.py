"""data.holdout: the spatial hold-out block at every scale, rounded to the ratio, and the
scene's parts put back together."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.data.holdout import HoldOut, split_scene


def _scene(h=48, w=40, bands=4, seed=0, sensor="IKONOS"):
  rng = np.random.default_rng(seed)
  return {"ms": rng.integers(0, 2048, (h, w, bands)).astype(np.float64),
          "pan": rng.integers(0, 2048, (4 * h, 4 * w, 1)).astype(np.float64),
          "sensor": sensor, "bits": 11}


@pytest.mark.parametrize("side,rows,cols", [
    ("bottom", slice(240, 320), slice(0, 320)), ("top", slice(0, 80), slice(0, 320)),
    ("left", slice(0, 320), slice(0, 80)), ("right", slice(0, 320), slice(240, 320))])
def test_holdout_block_at_every_scale(side, rows, cols):
  ho = HoldOut(0.25, side)
  shape = (320, 320, 4)
  assert ho.block(shape) == (rows, cols)
  scale = lambda s, f: slice(int(s.start * f), int(s.stop * f))
  assert ho.block(shape, scale=4) == (scale(rows, 4), scale(cols, 4))        # full-res PAN
  assert ho.block(shape, scale=0.25) == (scale(rows, .25), scale(cols, .25))  # reduced MS
  a, b = ho.block(shape), ho.train_block(shape)
  mask = np.zeros((320, 320), int)
  mask[a] += 1
  mask[b] += 1
  assert mask.min() == mask.max() == 1  # block and training part tile the scene


def test_holdout_rounds_to_the_ratio_and_refuses_bad_values():
  assert HoldOut(0.2).held_count(40) == 8 and HoldOut(0.01).held_count(40) == 4
  assert HoldOut(0.0).held_count(40) == 0
  with pytest.raises(ValueError, match="side"):
    HoldOut(0.25, "middle")
  with pytest.raises(ValueError, match="fraction"):
    HoldOut(1.0)
  with pytest.raises(ValueError, match="multiple of the ratio"):
    HoldOut(0.25).held_count(42)


@pytest.mark.parametrize("side", ["bottom", "top", "left", "right"])
def test_split_scene_parts_put_back_together_are_the_scene(side):
  s = _scene()
  train, held = split_scene(s, HoldOut(0.25, side))
  axis = 0 if side in ("top", "bottom") else 1
  first, second = (held, train) if side in ("top", "left") else (train, held)
  for k in ("ms", "pan"):
    np.testing.assert_array_equal(np.concatenate([first[k], second[k]], axis=axis), s[k])
  assert train["sensor"] == "IKONOS" and held["bits"] == 11
