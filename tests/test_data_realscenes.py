"""Real-scene sources: no training patch in the hold-out at any scale, Wald-reduced patches,
bit depth (the hold-out block itself: test_data_holdout.py)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from srino_jax.data.holdout import HoldOut
from srino_jax.data.realscenes import RealScene, RealSceneSource, real_scene_sources
from srino_jax.data.products import reduce_scene
from srino_jax.data.sources import MixedBatches
from srino_jax.toolbox.interp import interp23tap

REALDATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def _scene(h=48, w=40, bands=4, seed=0, sensor="IKONOS"):
  rng = np.random.default_rng(seed)
  return {"ms": rng.integers(0, 2048, (h, w, bands)).astype(np.float64),
          "pan": rng.integers(0, 2048, (4 * h, 4 * w, 1)).astype(np.float64),
          "sensor": sensor, "bits": 11}


@pytest.mark.parametrize("side", ["bottom", "left", "top"])
def test_no_training_patch_overlaps_the_holdout_at_any_scale(side):
  """Two proofs: (1) the patch windows, mapped to every scale of the original scene, never
  meet the held-out block; (2) changing every held-out pixel (MS and PAN, full resolution)
  leaves every training batch bit-identical, so nothing of it leaks, not even through the
  Wald filters."""
  ho, p, r = HoldOut(0.25, side), 16, 4
  base = _scene(seed=1)
  other = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in base.items()}
  rows, cols = ho.block(base["ms"].shape)
  other["ms"][rows, cols] = 2047.0 - other["ms"][rows, cols]
  prow, pcol = ho.block(base["ms"].shape, scale=r)
  other["pan"][prow, pcol] = np.random.default_rng(9).integers(
      0, 2048, other["pan"][prow, pcol].shape)
  scenes = [RealScene("synthetic", holdout=ho, scene_dict=s) for s in (base, other)]
  mixes = [MixedBatches([RealSceneSource(sc, p)], batch_size=8, seed=2) for sc in scenes]
  oy, ox = scenes[0].train_offset()
  held = {f: ho.block(base["ms"].shape, scale=f) for f in (r, 1, 1 / r)}
  for step in range(40):
    a, b = mixes[0].batch(step), mixes[1].batch(step)
    for k in ("gt", "lms", "ms", "pan"):
      np.testing.assert_array_equal(a[k], b[k])
    origins = mixes[0].sources[0].origins(mixes[0].source_rng(step, 0), 8)
    for y, x in origins:  # window on the original MS grid, then on each scale
      for f, (hr, hc) in held.items():
        y0, y1 = (oy + y) * f, (oy + y + p) * f
        x0, x1 = (ox + x) * f, (ox + x + p) * f
        overlap_rows = y0 < hr.stop and hr.start < y1
        overlap_cols = x0 < hc.stop and hc.start < x1
        assert not (overlap_rows and overlap_cols), (step, f, y, x)
  # The held-out set is the block itself, reduced on its own.
  want = reduce_scene({"ms": base["ms"][rows, cols], "pan": base["pan"][prow, pcol]}, "IKONOS")
  for k in ("gt", "lms", "ms", "pan"):
    np.testing.assert_allclose(scenes[0].heldout[k], want[k] / 2047.0, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(scenes[0].heldout_full["pan"], base["pan"][prow, pcol] / 2047.0,
                             rtol=1e-6)
  np.testing.assert_allclose(scenes[0].heldout_full["lms"],
                             interp23tap(base["ms"][rows, cols]) / 2047.0, rtol=1e-5, atol=1e-6)


def test_patches_are_the_reduced_training_part_cropped_in_register():
  s = _scene(seed=3)
  sc = RealScene("synthetic", holdout=HoldOut(0.25), scene_dict=s)
  red = reduce_scene({"ms": s["ms"][:36], "pan": s["pan"][:144]}, "IKONOS")
  src = RealSceneSource(sc, 16)
  origins = np.array([[0, 0], [20, 24], [20, 8]])
  got = src.crop(origins)
  for i, (y, x) in enumerate(origins):
    for k in ("gt", "lms", "pan"):
      np.testing.assert_allclose(got[k][i], red[k][y:y + 16, x:x + 16] / 2047.0, rtol=1e-6)
    np.testing.assert_allclose(got["ms"][i], red["ms"][y // 4:y // 4 + 4, x // 4:x // 4 + 4]
                               / 2047.0, rtol=1e-6)
  assert got["gt"].dtype == np.float32
  with pytest.raises(ValueError, match="patch_size 40"):
    RealSceneSource(sc, 40)  # the training part is 36 rows


def test_the_scene_bit_depth_sets_the_units():
  s = _scene(seed=4)
  s["ms"], s["pan"] = np.floor(s["ms"] / 8), np.floor(s["pan"] / 8)  # 8-bit
  s["bits"] = 8
  sc = RealScene("synthetic", holdout=HoldOut(0.0), scene_dict=s)
  assert sc.sensor.max_value == 255.0 and sc.heldout is None
  with pytest.raises(ValueError, match="no held-out block"):
    sc.heldout_batch()
  np.testing.assert_allclose(sc.train["gt"], s["ms"] / 255.0, rtol=1e-6)
  sc11 = RealScene("synthetic", holdout=HoldOut(0.0), scene_dict=s, bits=11)
  np.testing.assert_allclose(sc11.train["gt"], s["ms"] / 2047.0, rtol=1e-6)


def test_missing_file_names_the_file_and_the_flag(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"grip_imgGE1.mat.*--config.data.realdata"):
    RealScene("geoeye1", root=tmp_path)
  with pytest.raises(FileNotFoundError, match=r"grip_imgIK.mat.*--data_root"):
    real_scene_sources(["ikonos"], 64, root=tmp_path, flag="--data_root")
  with pytest.raises(FileNotFoundError, match=r"mine.mat.*--realdata"):
    RealScene(str(tmp_path / "mine.mat"), flag="--realdata")


def test_the_wv2_scene_is_refused_for_training():
  path = REALDATA / "pypansharpening_imgWV2.mat"
  if not path.exists():
    pytest.skip(f"{path} absent")
  with pytest.raises(ValueError, match="evaluation only"):
    RealScene(str(path))


@pytest.mark.parametrize("name,max_value,bands", [("geoeye1", 255.0, 4), ("ikonos", 2047.0, 4),
                                                   ("wv3_example", 2047.0, 8)])
def test_real_scenes(name, max_value, bands):
  if not REALDATA.exists():
    pytest.skip(f"real scenes absent: {REALDATA}")
  ho = HoldOut(0.0) if name == "wv3_example" else HoldOut(0.25)
  sc = RealScene(name, root=REALDATA, holdout=ho)
  assert sc.sensor.max_value == max_value and sc.sensor.bands == bands
  if name == "wv3_example":
    assert sc.train["gt"].shape == (32, 32, 8) and sc.train["ms"].shape == (8, 8, 8)
  else:
    assert sc.train["gt"].shape == (240, 320, 4) and sc.train["ms"].shape == (60, 80, 4)
    assert sc.heldout["gt"].shape == (80, 320, 4) and sc.heldout["ms"].shape == (20, 80, 4)
    assert sc.heldout_full["pan"].shape == (320, 1280, 1)
    val = sc.heldout_batch()
    np.testing.assert_array_equal(val["gt"][0], sc.heldout["gt"])
    assert set(val) == {"gt", "lms", "ms", "pan"} and set(sc.heldout_batch("full")) == {
        "ms", "lms", "pan"}
  # Model units: the scene's own max maps to at most 1 (GE1 8-bit: 203 / 255, not / 2047).
  assert 0.5 < sc.train["gt"].max() <= 1.0
