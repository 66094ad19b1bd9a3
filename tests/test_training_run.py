"""`training.run.Run`: built once from a config or a workdir, the random streams from fixed
ids, old config.json files (format version 1) upgraded, one compatibility check."""

import json

import jax
import numpy as np
import pytest

from conftest import as_run, paper_config, with_overrides
from srino_jax.training import run as runs
from srino_jax.training.run import Run


def _keys_equal(a, b):
  return np.array_equal(jax.random.key_data(a), jax.random.key_data(b))


def test_from_config_reads_each_field_once_into_frozen_parts(tiny_run):
  run = as_run(tiny_run, "somewhere")
  assert run.model == runs.model_config(tiny_run) and hash(run.model) == hash(runs.model_config(
      tiny_run))
  assert run.model.diffusion.residual_scale == tiny_run.diffusion.residual_scale
  assert (run.sampling.steps, run.sampling.eta) == (3, 0.0)
  assert (run.holdout.fraction, run.holdout.side) == (0.25, "bottom")  # base.py's, no default
  assert run.sources == () and run.version == runs.RUN_VERSION == 2
  assert (run.stage, run.which, run.step) == ("stage2", "best", None)
  # The run keeps its own locked copy: changing the caller's config changes nothing.
  changed = with_overrides(tiny_run, "diffusion.sample_steps=7")
  assert run.sampling.steps == 3 and as_run(changed).sampling.steps == 7
  with pytest.raises(AttributeError):
    run.config.new_field = 1  # locked


def test_random_streams_are_fixed_ids(tiny_run):
  """Stage keys: fold_in(key(seed), stream) with the streams the registry positions had, so
  the training keys are those of runs made before; validation: stream 1000 from version 2,
  PRNGKey(seed + 1_000_003) for runs of version 1."""
  seed = tiny_run.seed
  run = as_run(tiny_run)
  for i, stage in enumerate(("aux", "stage1", "stage2", "pnn", "fusionnet"), start=1):
    old = jax.random.fold_in(jax.random.PRNGKey(seed), i)  # c10c0e0's stage_index keys
    assert np.array_equal(jax.random.key_data(run.stage_key(stage)), old)
  assert _keys_equal(run.validation_key(), jax.random.fold_in(jax.random.key(seed), 1000))
  v1 = with_overrides(tiny_run, "version=1")
  assert np.array_equal(jax.random.key_data(as_run(v1).validation_key()),
                        jax.random.PRNGKey(seed + 1_000_003))
  assert len({str(jax.random.key_data(k)) for k in (
      run.validation_key(), *(run.stage_key(s) for s in ("aux", "stage1", "stage2")))}) == 4


def _version1_json(config) -> dict:
  """config.json as c10c0e0 wrote it: no version, residual_scale under model."""
  raw = config.to_dict()
  del raw["version"]
  raw["model"]["residual_scale"] = raw["diffusion"].pop("residual_scale")
  return raw


def test_a_version_1_config_json_loads_and_keeps_its_streams(tiny_run, tmp_path):
  config = with_overrides(tiny_run, "diffusion.residual_scale=10.0")
  (tmp_path / "config.json").write_text(json.dumps(_version1_json(config)))
  run = Run.load(str(tmp_path))
  assert run.version == 1 and run.model.diffusion.residual_scale == 10.0
  assert run.model == as_run(config).model  # the same model, read from the old layout
  assert np.array_equal(jax.random.key_data(run.validation_key()),
                        jax.random.PRNGKey(config.seed + 1_000_003))
  # Resuming it with today's config: compatible, and the workdir stays version 1.
  resumed = as_run(config, tmp_path)
  assert resumed.version == 1
  resumed.save()
  assert json.loads((tmp_path / "config.json").read_text())["version"] == 1


def test_one_compatibility_check_names_the_field(tiny_run, tmp_path):
  as_run(tiny_run, tmp_path).save()
  as_run(tiny_run, tmp_path).check_compatible()  # itself: fine
  as_run(with_overrides(tiny_run, "train.batch_size=2"), tmp_path).check_compatible()
  # How a run samples is no part of its model: steps, eta, K and the weights may change.
  as_run(with_overrides(tiny_run, "diffusion.sample_steps=7", "diffusion.eta=0.5",
                        "diffusion.num_samples=4", "diffusion.sample_weights=online"),
         tmp_path).check_compatible()
  for override, field in (("model.width=16", "model"), ("diffusion.residual_scale=2.0",
                                                        "diffusion"), ("sensor=gf2", "sensor")):
    with pytest.raises(ValueError, match=f"another '{field}' config"):
      as_run(with_overrides(tiny_run, override), tmp_path).save()
  (tmp_path / "config.json").write_text("{not json")
  with pytest.raises(ValueError, match="not a JSON run config"):
    as_run(tiny_run, tmp_path).check_compatible()


def test_bad_fields_are_named_when_the_run_is_built():
  with pytest.raises(ValueError, match="unknown sensor 'landsat'"):
    as_run(paper_config("sensor=landsat"))
  with pytest.raises(ValueError, match="residual_scale must be > 0"):
    as_run(paper_config("diffusion.residual_scale=0.0"))
  with pytest.raises(ValueError, match="HoldOut.side"):
    as_run(paper_config("data.holdout_side=middle"))
  with pytest.raises(ValueError, match="which must be one of"):
    as_run(paper_config()).params(which="newest")
