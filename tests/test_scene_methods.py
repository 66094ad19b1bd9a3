"""SRINO in srino_jax.scene: tiles and the whole scene share their noise (positional, one key),
and a scene fused in one piece shows progress over the sampling steps.

The denoiser is replaced by per-pixel stand-ins, so the model's global context cannot differ
between a tile and the whole scene: what remains is the noise, which must then agree."""


import jax.numpy as jnp
import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.transform import Affine  # noqa: E402

import srino_jax.model.sampling as sampling_mod  # noqa: E402
from srino_jax.data import geotiff  # noqa: E402
from srino_jax.scene import fuse, memory, methods  # noqa: E402
from conftest import as_run, paper_config  # noqa: E402

SIDE = 64  # PAN pixels; IKONOS ratio 4


def _write(path, img, px):
  profile = {"crs": "EPSG:32633", "transform": Affine(px, 0, 5e5, 0, -px, 4e6)}
  return str(geotiff.write_geotiff(path, img, profile, dtype="uint16"))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
  rng = np.random.default_rng(3)
  d = tmp_path_factory.mktemp("noise")
  pan = _write(d / "pan.tif", rng.integers(200, 1800, (SIDE, SIDE, 1)), 1.0)
  ms = _write(d / "ms.tif", rng.integers(200, 1800, (SIDE // 4, SIDE // 4, 4)), 4.0)
  return geotiff.open_pair(pan, ms)


def _run(eta):
  return as_run(paper_config("sensor=ikonos", "model.width=8", "model.depth=1",
                             "model.heads=2", "model.adapter_width=4", f"diffusion.eta={eta}"))


@pytest.fixture
def stand_in(monkeypatch):
  """Replaces SRINO's denoiser by `stand_in.predict(x_t, lms)` (per pixel); `traces` counts
  how often a sampler was traced (once per compile)."""
  class StandIn:
    predict = None
    traces = 0

  def make(cfg, params, batch):
    StandIn.traces += 1
    return lambda x_t, t, x0_prev: StandIn.predict(x_t, x0_prev, batch["lms"])

  monkeypatch.setattr(sampling_mod, "make_predict_x0", make)
  yield StandIn


def _fuse(pair, method, out, tile=None, overlap=0, progress=False):
  plan = memory.plan_fusion(method, SIDE, SIDE, 4, 2 ** 33, tile=tile, overlap=overlap)
  summary = fuse.fuse_pair(pair, method, plan, out, dtype="float64", progress=progress)
  with rasterio.open(out) as o:
    return np.moveaxis(o.read(), 0, -1), summary


def test_a_tile_draws_the_crop_of_the_whole_scenes_x_T(pair, stand_in, tmp_path):
  """One DDIM step with x0_hat = x_t returns x_T itself: the output is L + x_T / s (DN), so
  the tiled output is the crop-and-blend of the whole scene's x_T."""
  stand_in.predict = staticmethod(lambda x_t, x0_prev, lms: x_t)
  method = methods.srino_method(_run(0.0), None, steps=1, seed=2)
  whole, _ = _fuse(pair, method, tmp_path / "whole.tif")
  tiled, summary = _fuse(pair, method, tmp_path / "tiled.tif", tile=32, overlap=8)
  assert summary["tiles"] == 9
  np.testing.assert_allclose(tiled, whole, rtol=1e-9, atol=1e-6)
  # Non-trivial: x_T is noise of DN size, another seed gives another field.
  other, _ = _fuse(pair, methods.srino_method(_run(0.0), None, steps=1, seed=3),
                   tmp_path / "other.tif")
  assert np.abs(other - whole).mean() > 100


def test_tiled_equals_whole_with_eta_noise_and_samples(pair, stand_in, tmp_path):
  """Several steps with eta > 0 and K = 2 samples: with a per-pixel denoiser every pixel's
  trajectory depends only on its own noise, so tiles agree with the whole scene."""
  stand_in.predict = staticmethod(lambda x_t, x0_prev, lms: 0.5 * x_t
                                  + 0.2 * jnp.tanh(x0_prev) - 0.1 * lms)
  method = methods.srino_method(_run(0.5), None, num_samples=2, steps=3)
  whole, _ = _fuse(pair, method, tmp_path / "whole.tif")
  tiled, _ = _fuse(pair, method, tmp_path / "tiled.tif", tile=32, overlap=8)
  np.testing.assert_allclose(tiled, whole, rtol=1e-9, atol=1e-6)
  with rasterio.open(tmp_path / "whole_std.tif") as a, \
      rasterio.open(tmp_path / "tiled_std.tif") as b:
    std_whole, std_tiled = a.read(), b.read()
  assert std_whole.max() > 0  # the two samples differ
  np.testing.assert_allclose(std_tiled, std_whole, rtol=1e-5, atol=1e-3)


def test_whole_scene_shows_a_bar_over_steps_and_compiles_once(pair, stand_in, tmp_path,
                                                              capfd):
  stand_in.predict = staticmethod(lambda x_t, x0_prev, lms: 0.5 * x_t)
  method = methods.srino_method(_run(0.0), None, steps=4)
  _fuse(pair, method, tmp_path / "a.tif", progress=True)
  err = capfd.readouterr().err
  assert "srino steps" in err and "4/4" in err and "srino tiles" not in err
  assert method.step_progress.bar is None  # detached after the scene
  assert stand_in.traces == 1
  _fuse(pair, method, tmp_path / "b.tif", progress=True)  # the method's fuser: no compile
  assert stand_in.traces == 1
  assert "4/4" in capfd.readouterr().err
  _fuse(pair, method, tmp_path / "c.tif", tile=32, overlap=8, progress=True)
  err = capfd.readouterr().err
  assert "srino tiles" in err and "9/9" in err and "srino steps" not in err
  # Tiles run without the callback (one more sampler for all 9 tiles).
  assert stand_in.traces == 2


def test_step_progress_only_raises_the_bar():
  class Bar:
    n, refreshed = 0, 0

    def refresh(self):
      self.refreshed += 1

  progress = methods.StepProgress(5)
  progress(0)  # no bar attached: nothing happens
  progress.bar = Bar()
  for i in (0, 0, 2, 1, 2, 4, 3):  # two samples' callbacks, out of order
    progress(i)
  assert progress.bar.n == 5 and progress.bar.refreshed == 3


def test_memory_and_time_estimates_follow_the_runs_model():
  """The estimates scale with the run's own width, samples and steps (no default width)."""
  run = _run(0.0)
  one = methods.srino_method(run, None, steps=4)
  four = methods.srino_method(run, None, num_samples=4, steps=2)
  assert one.bytes_per_pixel == methods._SRINO_BYTES_PER_WIDTH * 8
  assert four.bytes_per_pixel == 4 * one.bytes_per_pixel
  assert four.seconds_per_pixel == 2 * one.seconds_per_pixel


def test_the_std_file_is_the_calibrated_bar_when_the_run_has_one(pair, stand_in, tmp_path,
                                                                 monkeypatch):
  """A run calibrated for this sampler (python -m srino_jax.calibrate): the second file is
  scale x the spread and its tags say so, with the nominal coverage; else the raw std."""
  from srino_jax.training import calibration
  stand_in.predict = staticmethod(lambda x_t, x0_prev, lms: 0.5 * x_t)
  raw = methods.srino_method(_run(0.5), None, num_samples=2, steps=2)
  _fuse(pair, raw, tmp_path / "raw.tif")
  monkeypatch.setattr(calibration, "scale_for", lambda run, level, k, steps=None, eta=None:
                      3.0 if (level, k, steps) == (0.9, 2, 2) else None)
  bar = methods.srino_method(_run(0.5), None, num_samples=2, steps=2)
  _fuse(pair, bar, tmp_path / "bar.tif")
  with rasterio.open(tmp_path / "raw_std.tif") as a, \
      rasterio.open(tmp_path / "bar_std.tif") as b:
    np.testing.assert_allclose(b.read(), 3.0 * a.read(), rtol=1e-5)
    assert "not calibrated" in a.tags()["SRINO_SPREAD"]
    assert b.tags()["SRINO_NOMINAL_COVERAGE"] == "0.9"
    assert "calibrated" in b.tags()["SRINO_SPREAD"]
