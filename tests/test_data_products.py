"""Real-scene readers: .mat scenes, Wald reduction, crops, bit depth (GeoTIFF pairs:
test_data_geotiff.py)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import scipy.io

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.data.products import (crop_scene, full_scene, read_mat_scene, reduce_scene,
                                     scene_sensor)

REALDATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def _scene(h=16, bands=4, seed=0):
  rng = np.random.default_rng(seed)
  return {"ms": rng.integers(0, 2048, (h, h, bands)).astype(np.uint16),
          "pan": rng.integers(0, 2048, (4 * h, 4 * h)).astype(np.uint16)}


def test_real_wv2_scene(real_wv2_path):
  scene = read_mat_scene(real_wv2_path)
  assert scene["ms"].shape == (320, 320, 8) and scene["pan"].shape == (1280, 1280, 1)
  assert scene["ms"].dtype == np.float64 and scene["sensor"].upper() == "WV2"
  assert scene["ratio"] == 4
  # uint16 11-bit digital numbers, converted without rescaling.
  assert np.all(scene["ms"] == np.round(scene["ms"])) and 0 < scene["pan"].max() <= 2047


def test_mat_round_trip_and_errors(tmp_path):
  s = _scene()
  path = tmp_path / "scene.mat"
  scipy.io.savemat(path, {"I_MS": s["ms"], "I_PAN": s["pan"], "sensor": "QB", "ratio": 4.0})
  scene = read_mat_scene(path)
  np.testing.assert_array_equal(scene["ms"], s["ms"].astype(np.float64))
  np.testing.assert_array_equal(scene["pan"][..., 0], s["pan"])
  assert scene["sensor"] == "QB" and scene["ratio"] == 4
  scipy.io.savemat(tmp_path / "nopan.mat", {"I_MS": s["ms"]})
  with pytest.raises(ValueError, match=r"nopan.mat.*'I_PAN' missing"):
    read_mat_scene(tmp_path / "nopan.mat")
  scipy.io.savemat(tmp_path / "size.mat", {"I_MS": s["ms"], "I_PAN": s["pan"][:60]})
  with pytest.raises(ValueError, match=r"size.mat.*not ratio 4"):
    read_mat_scene(tmp_path / "size.mat")
  bad = s["ms"].astype(np.float64)
  bad[0, 0, 0] = np.nan
  scipy.io.savemat(tmp_path / "nan.mat", {"I_MS": bad, "I_PAN": s["pan"]})
  with pytest.raises(ValueError, match=r"nan.mat: I_MS.*NaN"):
    read_mat_scene(tmp_path / "nan.mat")
  with pytest.raises(FileNotFoundError, match="absent.mat"):
    read_mat_scene(tmp_path / "absent.mat")


def test_reduce_scene_is_wald_protocol():
  s = _scene(h=16, bands=4)
  red = reduce_scene(s, "qb")
  np.testing.assert_array_equal(red["gt"], s["ms"].astype(np.float64))
  np.testing.assert_allclose(red["ms"], mtf_filter(s["ms"], "qb")[2::4, 2::4], rtol=1e-12)
  np.testing.assert_allclose(red["pan"], imresize(s["pan"][..., None].astype(float), 0.25),
                             rtol=1e-12)
  # lms is interp23tap of the reduced MS: it passes through the MS samples.
  np.testing.assert_allclose(red["lms"][2::4, 2::4], red["ms"], rtol=1e-12, atol=1e-9)
  assert red["lms"].shape == red["gt"].shape and red["pan"].shape == (16, 16, 1)
  full = full_scene(s)
  np.testing.assert_allclose(full["lms"], interp23tap(s["ms"]), rtol=1e-12)


def test_crop_scene_keeps_alignment():
  s = {k: v.astype(float) for k, v in _scene(h=18).items()}
  c = crop_scene(s, 8)
  assert c["ms"].shape[:2] == (16, 16) and c["pan"].shape[:2] == (64, 64)
  np.testing.assert_array_equal(c["pan"], s["pan"][:64, :64])


def test_mat_bit_depth_sets_the_scene_max(tmp_path):
  s = _scene()
  path = tmp_path / "ge.mat"
  scipy.io.savemat(path, {"I_MS": s["ms"], "I_PAN": s["pan"], "sensor": "GeoEye1",
                          "L": np.uint8(8)})
  scene = read_mat_scene(path)
  assert scene["bits"] == 8
  assert scene_sensor(scene).max_value == 255.0 and scene_sensor(scene).name == "GEOEYE1"
  assert scene_sensor(scene, bits=11).max_value == 2047.0       # an explicit flag wins
  assert scene_sensor(scene, "ikonos").ms_gains == (0.26, 0.28, 0.29, 0.28)
  assert scene_sensor(scene, "ikonos").max_value == 255.0       # the scene's bits still hold
  assert scene_sensor({"ms": 0}, "ikonos").max_value == 2047.0  # no bits: the table's max
  with pytest.raises(ValueError, match="names no sensor"):
    scene_sensor({"ms": 0})
  scipy.io.savemat(tmp_path / "badL.mat", {"I_MS": s["ms"], "I_PAN": s["pan"], "L": 2.5})
  with pytest.raises(ValueError, match=r"badL.mat: variable 'L'"):
    read_mat_scene(tmp_path / "badL.mat")


def test_mat_with_only_the_low_resolution_ms(tmp_path):
  s = _scene()
  scipy.io.savemat(tmp_path / "zpnn.mat", {"I_MS_LR": s["ms"], "I_PAN": s["pan"]})
  scene = read_mat_scene(tmp_path / "zpnn.mat")
  np.testing.assert_array_equal(scene["ms"], s["ms"].astype(np.float64))
  assert "ms_lr" not in scene


@pytest.mark.parametrize("name,bits,max_dn,sensor", [
    ("grip_imgGE1.mat", 8, 255, "GEOEYE1"), ("grip_imgIK.mat", 11, 2047, "IKONOS")])
def test_real_grip_scenes_carry_their_bit_depth(name, bits, max_dn, sensor):
  path = REALDATA / name
  if not path.exists():
    pytest.skip(f"real scene {path} absent")
  scene = read_mat_scene(path)
  assert scene["bits"] == bits and scene["ms"].shape == (320, 320, 4)
  s = scene_sensor(scene)
  assert s.name == sensor and s.max_value == max_dn
  assert scene["pan"].max() <= max_dn and scene["ms"].max() <= max_dn
