"""Small GeoTIFF PAN + MS pairs for the GeoTIFF reader and scene-tool tests (through the
library's own writer, `data.geotiff.write_geotiff`)."""

import numpy as np
from rasterio.transform import Affine

from srino_jax.data import geotiff


def write_tif(path, bands_hwc, transform, crs="EPSG:32616", dtype="uint16", nodata=None):
  """Writes (H, W, C) `bands_hwc` as a GeoTIFF; returns its path as a string."""
  profile = {"crs": crs, "transform": transform, "nodata": nodata}
  return str(geotiff.write_geotiff(path, bands_hwc, profile, dtype=dtype))


def tif_pair(tmp_path, pan_px=1.0, ms_px=4.0, crs_ms="EPSG:32633", ms_bands=4, ms_offset=0.0):
  """(pan path, ms path): a 64 x 64 PAN and a 16 x 16 MS of random DN, pixel sizes, MS CRS,
  band count and MS x-offset as given (the defaults make a valid ratio-4 pair)."""
  rng = np.random.default_rng(0)
  pan = write_tif(tmp_path / "pan.tif", rng.integers(1, 2000, (64, 64, 1)),
                  Affine(pan_px, 0, 500000, 0, -pan_px, 4000000), "EPSG:32633")
  ms = write_tif(tmp_path / "ms.tif", rng.integers(1, 2000, (16, 16, ms_bands)),
                 Affine(ms_px, 0, 500000 + ms_offset, 0, -ms_px, 4000000), crs_ms)
  return pan, ms
