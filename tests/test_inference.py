"""Inference on the tiny trained run (conftest.py): sample.py writes digital numbers, refuses
bad inputs and a guidance mode the model was not trained with; checkpoint paths resolve;
`fuse_scenes` equals the model's sampler scene by scene, whatever the batch size."""

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO, as_run
from srino_jax import inference, model as srino


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _sample_main():
  spec = importlib.util.spec_from_file_location("sample_cli", REPO / "sample.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.main


def test_sample_writes_sr_in_digital_numbers(tiny_run, trained, tmp_path, capsys):
  import h5py
  test = as_run(tiny_run).data_path("test")
  out = tmp_path / "sr.h5"
  assert _sample_main()(["--workdir", trained, "--input", test, "--output", str(out),
                         "--num-samples", "2", "--eta", "0.5", "--methods", "exp",
                         "--png", str(tmp_path / "png")]) == 0
  with h5py.File(test) as src, h5py.File(out) as f:
    assert f["sr"].shape == src["lms"].shape  # N x C x H x W
    sr, lms, std = f["sr"][()], src["lms"][()], f["sr_std"][()]
  # Digital numbers, close to the upsampled MS that the model only adds details to.
  assert abs(np.median(sr) / np.median(lms) - 1) < 0.25
  assert np.all(std >= 0) and np.any(std > 0)  # two noise draws with eta > 0 differ
  table = capsys.readouterr().out
  assert "SRINO" in table and "EXP" in table and "Q4" in table
  assert len(list((tmp_path / "png").glob("*.png"))) == 2


def test_sample_refuses_to_overwrite_and_bad_inputs_write_nothing(tiny_run, trained, tmp_path,
                                                                  capsys):
  main = _sample_main()
  test = as_run(tiny_run).data_path("test")
  out = tmp_path / "sr.h5"
  out.write_bytes(b"keep me")

  def fails(argv, code, needle):  # one line, its exit code (srino_jax.errors)
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err
    assert needle in err and err.startswith("error: ") and "Traceback" not in err

  fails(["--workdir", trained, "--input", test, "--output", str(out)], 5, "exists")
  assert out.read_bytes() == b"keep me"
  fresh = tmp_path / "fresh.h5"
  fails(["--workdir", trained, "--input", test, "--output", str(fresh), "--sensor", "wv3"], 2,
        "model fuses 4 bands, sensor WV3 has 8")  # a 4-band model, an 8-band sensor
  fails(["--workdir", str(tmp_path / "no_run"), "--input", test, "--output", str(fresh)], 4,
        "no_run")
  fails(["--workdir", trained, "--input", str(tmp_path / "missing.h5"), "--output",
         str(fresh)], 3, "missing.h5")
  assert not fresh.exists()


def test_sample_refuses_a_guidance_mode_the_model_was_not_trained_with(tiny_run, trained,
                                                                       tmp_path, capsys):
  """Sampling a `both` model as `none` drops trained branches (a knockout), not the paper's
  retrained ablation: refused, naming both modes."""
  out = tmp_path / "sr.h5"
  assert _sample_main()(["--workdir", trained, "--input", as_run(tiny_run).data_path("test"),
                         "--output", str(out), "--guidance", "none"]) == 2
  assert "trained with guidance 'both', not 'none'" in capsys.readouterr().err
  assert not out.exists()
  run = inference.Run.load(trained)
  with pytest.raises(ValueError, match="'both'.*'spatial'"):
    inference.check_guidance(run, "spatial")
  inference.check_guidance(run, "both")
  assert run.sensor.name == "QB"


def test_fuse_scenes_is_the_sampler_per_scene_for_any_batch_size(tiny_run, trained):
  run = inference.Run.load(trained, which="last")
  params = run.params()
  data = inference.read_input(as_run(tiny_run).data_path("test"), "qb")[0]
  assert len(data["pan"]) == 2
  key = jax.random.key(3)
  fuse = inference.make_fuser(run, params, num_samples=3, eta=0.5)  # one fuser, three calls
  one_mean, one_std = inference.fuse_scenes(fuse, data, key, batch_size=1)
  two_mean, two_std = inference.fuse_scenes(fuse, data, key, batch_size=2)
  odd_mean, _ = inference.fuse_scenes(fuse, data, key, batch_size=3)  # padded
  np.testing.assert_allclose(two_mean, one_mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(two_std, one_std, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(odd_mean, one_mean, rtol=1e-5, atol=1e-6)
  # Scene i, sample k: the model's sampler on scene i alone with split(fold_in(key, i))[k].
  cfg = run.model
  for i in range(2):
    scene = {k: data[k][i:i + 1] for k in ("lms", "ms", "pan")}
    ys = [srino.sample(cfg, params, scene, k, tiny_run.diffusion.sample_steps, 0.5)[0]
          for k in jax.random.split(jax.random.fold_in(key, i), 3)]
    np.testing.assert_allclose(one_mean[i], np.mean(ys, axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(one_std[i], np.std(ys, axis=0), rtol=1e-3, atol=1e-5)
  assert float(np.max(one_std)) > 0  # eta > 0: the samples differ


def test_checkpoint_paths_resolve_to_the_same_parameters(tiny_run, trained):
  last = os.path.join(trained, "checkpoints", "stage2", "last")
  steps = sorted(int(s) for s in os.listdir(last))
  by_step = inference.Run.load(os.path.join(last, str(steps[0]))).params()
  want = as_run(tiny_run, trained).params("stage2", step=steps[0], which="last")
  for a, b in zip(_leaves(want), _leaves(by_step)):
    np.testing.assert_array_equal(a, b)
  latest = inference.Run.load(trained, which="last").params()
  final = as_run(tiny_run, trained).params("stage2", which="last")
  for a, b in zip(_leaves(final), _leaves(latest)):
    np.testing.assert_array_equal(a, b)
  if len(steps) > 1:  # an earlier step differs from the final parameters
    assert any(not np.array_equal(a, b) for a, b in zip(_leaves(want), _leaves(final)))
  run = inference.Run.load(os.path.join(trained, "checkpoints", "stage1"), which="last")
  assert (run.stage, run.which, run.step) == ("stage1", "last", None)
  for a, b in zip(_leaves(as_run(tiny_run, trained).params("stage1", which="last")),
                  _leaves(run.params())):
    np.testing.assert_array_equal(a, b)
  with pytest.raises(FileNotFoundError, match="not a srino-jax run"):
    inference.Run.load(os.path.dirname(trained))


def test_mat_inputs_are_scaled_by_the_scenes_own_bit_depth(tmp_path):
  """An 8-bit .mat (L = 8, as the GeoEye-1 file) is read as DN / 255, not DN / the sensor
  table's 2047; `read_input` returns the sensor with that maximum to convert the output back; --bits
  overrides both; a .mat without L falls back to the table."""
  import scipy.io
  rng = np.random.default_rng(0)
  ms = rng.integers(0, 256, (8, 8, 4)).astype(np.float64)
  pan = rng.integers(0, 256, (32, 32)).astype(np.float64)
  scipy.io.savemat(tmp_path / "ge.mat", {"I_MS": ms, "I_PAN": pan, "L": 8.0})
  scipy.io.savemat(tmp_path / "nol.mat", {"I_MS": ms, "I_PAN": pan})
  path = str(tmp_path / "ge.mat")
  data, sensor = inference.read_input(path, "ikonos")
  assert sensor.max_value == 255.0
  np.testing.assert_allclose(data["ms"][0], ms / 255.0, rtol=1e-6)
  np.testing.assert_allclose(data["pan"][0, ..., 0], pan / 255.0, rtol=1e-6)
  data, sensor = inference.read_input(path, "ikonos", bits=11)
  assert sensor.max_value == 2047.0
  np.testing.assert_allclose(data["ms"][0], ms / 2047.0, rtol=1e-6)
  data, sensor = inference.read_input(str(tmp_path / "nol.mat"), "ikonos")
  assert sensor.max_value == 2047.0
  np.testing.assert_allclose(data["ms"][0], ms / 2047.0, rtol=1e-6)


def test_fuse_scenes_with_origins_shares_the_key_and_passes_them_to_the_sampler():
  """Windows of one product (data["origin"]): every scene samples with `key` itself (not
  fold_in(key, i)) and its origin, so the noise is one field over the product; on_step sees
  the steps."""
  from conftest import paper_config
  config = paper_config("sensor=ikonos", "model.width=8", "model.depth=1", "model.heads=2",
                        "model.adapter_width=4")
  run = as_run(config)
  params = srino.init_params(run.model, jax.random.key(1))
  rng = np.random.default_rng(0)
  lms = rng.uniform(0.1, 0.5, (2, 16, 16, 4)).astype(np.float32)
  data = {"lms": lms, "pan": lms.mean(-1, keepdims=True), "ms": lms[:, 2::4, 2::4],
          "origin": np.array([[0, 0], [8, 4]], np.int32)}
  key, seen = jax.random.key(5), []
  fuse = inference.make_fuser(run, params, num_samples=2, steps=2, eta=0.5,
                              on_step=seen.append)
  mean, _ = inference.fuse_scenes(fuse, data, key, batch_size=2)
  jax.effects_barrier()
  assert sorted(seen) == [0, 0, 0, 0, 1, 1, 1, 1]  # 2 scenes x 2 samples per step
  cfg = run.model
  for i in range(2):
    scene = {k: data[k][i:i + 1] for k in ("lms", "ms", "pan", "origin")}
    ys = [srino.sample(cfg, params, scene, k, 2, 0.5)[0] for k in jax.random.split(key, 2)]
    np.testing.assert_allclose(mean[i], np.mean(ys, axis=0), rtol=1e-4, atol=1e-5)
  plain, _ = inference.fuse_scenes(inference.make_fuser(run, params, 2, 2, 0.5),
                                   {k: data[k] for k in ("lms", "ms", "pan")}, key)
  assert np.abs(plain - mean).max() > 1e-3


def test_a_deterministic_stage_is_fused_once_whatever_k(tiny_run, tmp_path):
  """PNN's forward pass ignores the key: K = 8 would be 8 identical passes. The fuser runs
  one (its `samples` says so) and gives the same mean with std 0; SRINO keeps its K."""
  from srino_jax import model as srino
  run = as_run(tiny_run)
  data = inference.read_input(run.data_path("test"), "qb")[0]
  pnn = run.with_stage("pnn")
  params = pnn.param_template("pnn")
  params = jax.tree.map(lambda s: jnp.full(s.shape, 0.01, s.dtype), params)
  eight, one = (inference.make_fuser(pnn, params, k) for k in (8, 1))
  assert (eight.samples, one.samples) == (1, 1)
  key = jax.random.key(0)
  mean8, std8 = inference.fuse_scenes(eight, data, key)
  np.testing.assert_array_equal(mean8, inference.fuse_scenes(one, data, key)[0])
  assert not std8.any()
  assert inference.make_fuser(run, srino.init_params(run.model, key), 8).samples == 8
