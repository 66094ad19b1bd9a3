"""srino_jax.scene.writer: whole tile rows flushed, an incomplete image refused."""

import numpy as np
import pytest


def test_writer_flushes_whole_tile_rows_and_refuses_an_incomplete_image(tmp_path):
  rasterio = pytest.importorskip("rasterio")
  from rasterio.transform import Affine
  from srino_jax.scene import writer
  img = np.arange(600 * 40 * 2, dtype=np.float64).reshape(600, 40, 2) % 1000
  kw = dict(height=600, width=40, count=2, dtype="uint16", crs="EPSG:32633",
            transform=Affine(1, 0, 5e5, 0, -1, 4e6))
  flushed = []
  with writer.SceneWriter(tmp_path / "a.tif", **kw) as w:
    real_flush = w._flush
    w._flush = lambda rows: (flushed.append(rows), real_flush(rows))
    for top in range(0, 600, 70):  # bands of 70 rows, as a tiler releases them
      w.write(top, img[top:top + 70], np.ones((min(70, 600 - top), 40), bool))
  assert flushed == [256, 256, 88]  # whole rows of 256-pixel tiles, then the rest
  with rasterio.open(tmp_path / "a.tif") as o:
    np.testing.assert_array_equal(np.moveaxis(o.read(), 0, -1), img)
  with pytest.raises(RuntimeError, match="only 70 of 600 rows"):
    with writer.SceneWriter(tmp_path / "b.tif", **kw) as w:
      w.write(0, img[:70], np.ones((70, 40), bool))
  assert not (tmp_path / "b.tif").exists()
