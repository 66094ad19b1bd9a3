"""data.holdout: the spatial hold-out block at every scale, rounded to the ratio, and the
scene's parts put back together."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.data.holdout import HoldOut, split_heldout, split_scene


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


def _index_scene(h=48, w=40):
  """A scene whose every MS and PAN pixel holds its own id (where it came from)."""
  ms = np.arange(h * w, dtype=np.float64).reshape(h, w, 1)
  pan = np.arange(16 * h * w, dtype=np.float64).reshape(4 * h, 4 * w, 1)
  return {"ms": ms, "pan": pan}


@pytest.mark.parametrize("side", ["bottom", "top", "left", "right"])
@pytest.mark.parametrize("test", [0.5, 0.3])
def test_training_validation_and_test_parts_never_share_a_pixel(side, test):
  """The three parts are cut from the full-resolution scene before any reduction (each is
  then reduced on its own): the MS pixels (the reduced scale's ground truth and, through
  the MTF filter and decimation, its MS) and the PAN pixels (the full scale, and the
  reduced PAN through imresize) of any two parts are disjoint, and together all of them."""
  s = _index_scene()
  ho = HoldOut(0.25, side, test)
  train, held = split_scene(s, ho)
  parts = split_heldout(held, ho)
  assert set(parts) == {"valid", "test"}
  for key in ("ms", "pan"):
    ids = [set(p[key].ravel().tolist()) for p in (train, parts["valid"], parts["test"])]
    assert all(not (a & b) for i, a in enumerate(ids) for b in ids[i + 1:]), key
    assert set().union(*ids) == set(s[key].ravel().tolist()), key
  # The test part is `test` of the block across it (rounded to whole MS pixels).
  across = 1 if side in ("top", "bottom") else 0
  assert parts["test"]["ms"].shape[across] == round(test * held["ms"].shape[across])
  # PAN and MS of each part are the same area: r x r PAN pixels per MS pixel.
  for p in parts.values():
    assert p["pan"].shape[:2] == (4 * p["ms"].shape[0], 4 * p["ms"].shape[1])


def test_without_a_test_share_the_whole_block_validates():
  held = split_scene(_index_scene(), HoldOut(0.25))[1]
  parts = split_heldout(held, HoldOut(0.25))
  assert list(parts) == ["valid"]
  np.testing.assert_array_equal(parts["valid"]["ms"], held["ms"])
  with pytest.raises(ValueError, match="HoldOut.test"):
    HoldOut(0.25, "bottom", 1.0)
