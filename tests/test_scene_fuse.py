"""Ratio-4 GeoTIFF pairs written from the real .mat scenes (made-up CRS), classical and
SRINO (a randomly initialised tiny model: the wiring, not the quality, is under test), and
the .mat export for the MATLAB toolbox; a failure mid-write leaves no partial file."""

import pathlib

import numpy as np
import pytest
import scipy.io

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import Affine  # noqa: E402

from srino_jax import baselines, inference  # noqa: E402
from srino_jax.data import geotiff  # noqa: E402
from srino_jax.data.products import read_mat_scene  # noqa: E402
from srino_jax.scene import export, fuse, memory, methods  # noqa: E402

from conftest import as_run, paper_config  # noqa: E402
from _geotiff_pair import tif_pair as _tif_pair  # noqa: E402

REAL = pathlib.Path(__file__).resolve().parents[2] / "shared" / "realdata"


def _write(path, img, px, crs="EPSG:32633", dtype="uint16"):
  profile = {"crs": crs, "transform": Affine(px, 0, 600000, 0, -px, 4500000)}
  return str(geotiff.write_geotiff(path, img, profile, dtype=dtype))


@pytest.fixture(scope="module")
def ikonos_pair(tmp_path_factory):
  path = REAL / "grip_imgIK.mat"
  if not path.exists():
    pytest.skip(f"real IKONOS scene not found at {path}")
  scene = read_mat_scene(path)
  ms, pan = scene["ms"][:64, :48], scene["pan"][:256, :192]  # a 256 x 192 PAN crop
  d = tmp_path_factory.mktemp("ik")
  return {"pan": _write(d / "pan.tif", pan, 1.0), "ms": _write(d / "ms.tif", ms, 4.0),
          "ms_arr": ms, "pan_arr": pan}


def test_ratio4_pair_gsa_whole_matches_in_memory_and_tiles_stay_close(ikonos_pair, tmp_path):
  pair = geotiff.open_pair(ikonos_pair["pan"], ikonos_pair["ms"])
  assert pair.ratio == 4 and pair.shape == (256, 192)
  gsa = methods.classical_method("gsa", methods.generic_sensor(4, "uint16"))
  outs = {}
  for tile in (None, 128):
    plan = memory.plan_fusion(gsa, 256, 192, 4, 2 ** 31, tile=tile, overlap=32)
    fuse.fuse_pair(pair, gsa, plan, tmp_path / f"{tile}.tif", dtype="float64", progress=False)
    with rasterio.open(tmp_path / f"{tile}.tif") as o:
      outs[tile] = np.moveaxis(o.read(), 0, -1)
  ref = baselines.fuse("gsa", ikonos_pair["ms_arr"], ikonos_pair["pan_arr"],
                       methods.generic_sensor(4, "uint16"), 4)
  np.testing.assert_allclose(outs[None], ref, rtol=1e-12)
  # GSA regresses on each tile's own statistics: close to, not equal to, the whole scene.
  diff = np.abs(outs[128] - outs[None])
  assert 0 < diff.mean() < 0.01 * ref.mean()


@pytest.fixture(scope="module")
def tiny_srino():
  run = as_run(paper_config("sensor=ikonos", "model.width=8", "model.depth=1", "model.heads=2",
                            "model.adapter_width=4"))
  return run, methods.random_srino_params(run, seed=1)


def test_srino_method_equals_fuse_scenes_on_the_same_arrays(ikonos_pair, tiny_srino):
  run, params = tiny_srino
  method = methods.srino_method(run, params, num_samples=2, steps=2, seed=3)
  ms, pan = ikonos_pair["ms_arr"][:16, :16], ikonos_pair["pan_arr"][:64, :64]
  from srino_jax.toolbox.interp import interp23tap
  lms = interp23tap(ms, 4)
  mean, std = method.fuse(ms, lms, pan, (20, 8))
  scale = 2047.0  # IKONOS max: the model sees digital numbers / 2047
  data = {k: (v.astype(np.float32) / scale)[None] for k, v in
          (("ms", ms), ("lms", lms), ("pan", pan))}
  data["origin"] = np.array([[20, 8]], np.int32)  # the window's place in the output grid
  import jax
  key = jax.random.key(3)  # the seed's key for every window
  fuser = inference.make_fuser(run, params, num_samples=2, steps=2)
  ref_mean, ref_std = inference.fuse_scenes(fuser, data, key)
  np.testing.assert_allclose(mean, ref_mean[0] * scale, rtol=1e-6)
  np.testing.assert_allclose(std, ref_std[0] * scale, rtol=1e-6)
  assert std.max() > 0


def test_srino_geotiff_with_samples_writes_mean_and_std_files(ikonos_pair, tiny_srino,
                                                               tmp_path):
  run, params = tiny_srino
  pair = geotiff.open_pair(ikonos_pair["pan"], ikonos_pair["ms"])
  method = methods.srino_method(run, params, num_samples=2, steps=2)
  plan = memory.plan_fusion(method, *pair.shape, 4, 2 ** 31, tile=128, overlap=32)
  summary = fuse.fuse_pair(pair, method, plan, tmp_path / "sr.tif", progress=False)
  assert summary["tiles"] == 6 and summary["outputs"][1].endswith("sr_std.tif")
  with rasterio.open(tmp_path / "sr.tif") as m, rasterio.open(tmp_path / "sr_std.tif") as s:
    assert m.transform == s.transform == Affine(1.0, 0, 600000, 0, -1.0, 4500000)
    assert m.dtypes[0] == "uint16" and s.dtypes[0] == "float32"
    std = s.read()
  assert np.isfinite(std).all() and std.min() >= 0 and std.max() > 0


def test_export_mat_has_the_toolbox_variables(ikonos_pair, tmp_path):
  ms, pan = ikonos_pair["ms_arr"][:16, :16], ikonos_pair["pan_arr"][:64, :64]
  from srino_jax.toolbox.interp import interp23tap
  lms = interp23tap(ms, 4)
  fused = baselines.fuse("brovey", ms, pan, "ikonos", 4)
  data = {"ms": ms[None], "lms": lms[None], "pan": pan[None], "gt": lms[None]}
  paths = export.export_scenes(tmp_path / "x.mat", data, fused[None], "ikonos", 4)
  m = scipy.io.loadmat(paths[0])
  np.testing.assert_array_equal(m["I_SR"], fused)
  np.testing.assert_allclose(m["sr"], fused / 2047.0)
  np.testing.assert_array_equal(m["I_MS_LR"], ms)
  np.testing.assert_array_equal(m["I_PAN"], pan[..., 0])
  assert m["I_MS"].shape == m["I_GT"].shape == (64, 64, 4)
  assert str(m["sensor"][0]) == "IKONOS" and m["ratio"].item() == 4 and m["L"].item() == 11
  two = export.export_scenes(tmp_path / "y.mat", {k: np.repeat(v, 2, 0) for k, v in
                                                  data.items()}, np.stack([fused] * 2),
                             "ikonos", 4)
  assert [p.name for p in two] == ["y_1.mat", "y_2.mat"]
  with pytest.raises(FileExistsError):
    export.export_scenes(tmp_path / "x.mat", data, fused[None], "ikonos", 4)


def test_cli_srino_path_with_samples_and_mat_export(ikonos_pair, tiny_srino, tmp_path,
                                                    monkeypatch):
  from srino_jax.scene import __main__ as cli
  asked = {}

  def fake_open(workdir=None, checkpoint=None, which=None, stage=None, weights=None):
    asked.update(workdir=workdir, checkpoint=checkpoint, which=which)
    return tiny_srino[0]  # the loading itself belongs to Run.load

  monkeypatch.setattr(inference, "open_run", fake_open)
  monkeypatch.setattr(inference, "load_params", lambda run: tiny_srino[1])
  out = tmp_path / "sr.tif"
  rc = cli.main(["--pan", ikonos_pair["pan"], "--ms", ikonos_pair["ms"], "--output", str(out),
                 "--checkpoint", "runs/x", "--num-samples", "2", "--steps", "2",
                 "--max-memory", "1.5G", "--export-mat", str(tmp_path / "sr.mat"),
                 "--no-progress"])
  assert rc == 0 and asked == {"workdir": None, "checkpoint": "runs/x", "which": "best"}
  with rasterio.open(out) as m, rasterio.open(tmp_path / "sr_std.tif") as s:
    fused, std = m.read(), s.read()
    assert m.tags()["SRINO_METHOD"] == "srino" and m.tags()["SRINO_SAMPLES"] == "2"
  mat = scipy.io.loadmat(tmp_path / "sr.mat")
  np.testing.assert_array_equal(mat["I_SR"], np.moveaxis(fused, 0, -1))
  assert mat["I_MS_LR"].shape == (64, 48, 4) and std.shape == fused.shape
  # K > 1 asks for SRINO; a classical method refuses it.
  assert cli.main(["--pan", ikonos_pair["pan"], "--ms", ikonos_pair["ms"], "--output",
                   str(tmp_path / "c.tif"), "--method", "gsa", "--num-samples", "2"]) == 2






def test_failure_mid_write_leaves_no_partial_file(tmp_path):
  pan, ms = _tif_pair(tmp_path)
  pair = geotiff.open_pair(pan, ms)
  exp = methods.classical_method("exp", methods.generic_sensor(4, "uint16"))

  calls = []

  def failing(ms_, lms, pan_, origin):
    calls.append(origin)
    if len(calls) == 4:  # the fourth tile: after the first band of rows has been written
      raise RuntimeError("boom")
    return exp.fuse(ms_, lms, pan_, origin)

  broken = methods.SceneMethod("broken", failing, exp.sensor, 0, 1.0, 0.0)
  plan = memory.plan_fusion(broken, 64, 64, 4, 2 ** 30, tile=32, overlap=8)
  assert plan.tiles == 9
  with pytest.raises(RuntimeError, match="boom"):
    fuse.fuse_pair(pair, broken, plan, tmp_path / "out.tif", cog=True, progress=False)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["ms.tif", "pan.tif"]
