"""srino_jax.data.geotiff: GeoTIFF pairs read and written with their georeferencing, the pair's
grid (CRS, ratio, intersected extents) and its errors naming both files."""

from __future__ import annotations

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import Affine  # noqa: E402

from srino_jax.data.geotiff import read_geotiff_pair, write_geotiff  # noqa: E402
from srino_jax.data import geotiff  # noqa: E402
from _geotiff_pair import tif_pair as _pair  # noqa: E402


def _scene(h=16, bands=4, seed=0):
  rng = np.random.default_rng(seed)
  return {"ms": rng.integers(0, 2048, (h, h, bands)).astype(np.uint16),
          "pan": rng.integers(0, 2048, (4 * h, 4 * h)).astype(np.uint16)}


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






def test_crs_mismatch_names_both_files(tmp_path):
  pan, ms = _pair(tmp_path, crs_ms="EPSG:32634")
  with pytest.raises(ValueError, match="different CRS") as e:
    geotiff.open_pair(pan, ms)
  assert pan in str(e.value) and ms in str(e.value)


def test_non_integer_ratio_names_both_files(tmp_path):
  pan, ms = _pair(tmp_path, ms_px=3.5)
  with pytest.raises(ValueError, match="ratio is 3.5") as e:
    geotiff.open_pair(pan, ms)
  assert pan in str(e.value) and ms in str(e.value)


def test_extents_are_intersected_on_the_pan_grid(tmp_path):
  # MS shifted by 2 MS pixels (8 PAN pixels) east: output starts at PAN column 8.
  pan, ms = _pair(tmp_path, ms_offset=8.0)
  pair = geotiff.open_pair(pan, ms)
  assert (pair.ms_col0, pair.pan_col0, pair.ms_cols, pair.shape) == (0, 8, 14, (64, 56))
  assert pair.transform == Affine(1.0, 0, 500008, 0, -1.0, 4000000)
