"""Shared test setup: CPU JAX, paths to the optional real scene."""

import os
import pathlib

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import tempfile  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

# Many tests build the same jitted steps again (each training run makes its own closures):
# a persistent compilation cache turns those recompiles into disk reads.
jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="srino-jax-cache-"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL_WV2 = REPO.parent / "shared" / "realdata" / "pypansharpening_imgWV2.mat"


@pytest.fixture(scope="session")
def real_wv2_path():
  """Path of the real WorldView-2 scene (evaluation only); skips where it is absent."""
  path = pathlib.Path(os.environ.get("SRINO_REAL_WV2", REAL_WV2))
  if not path.exists():
    pytest.skip(f"real WV2 scene not found at {path} (set SRINO_REAL_WV2 to use it)")
  return path


# A 4-band run on synthetic data small enough to train all stages in seconds.
TINY_OVERRIDES = (
    "data.patch_size=16", "data.synthetic=true", "data.synthetic_train=32",
    "data.synthetic_valid=4", "data.synthetic_test=2", "data.synthetic_test_size=32",
    "model.width=8", "model.depth=1", "model.heads=2", "model.adapter_width=4",
    "model.kernel_size=5", "optim.learning_rate=3e-3", "optim.decay_every=1000",
    "optim.weight_decay=0.0", "train.batch_size=4", "train.aux_steps=4",
    "train.stage1_steps=6", "train.stage2_steps=4", "train.log_every=1", "train.eval_every=3",
    "train.eval_examples=4", "train.checkpoint_every=2", "train.keep_checkpoints=2",
    "diffusion.sample_steps=3")


def as_run(config, workdir=""):
  """`Run.from_config(config, workdir)` (workdir may be a pathlib.Path)."""
  from srino_jax.training.run import Run
  return Run.from_config(config, str(workdir))


def with_sources(config, sources, **data):
  """A copy of a run's ConfigDict training on `sources` (config.data.sources entries), with
  other config.data fields set from `data`."""
  import copy

  import ml_collections
  config = copy.deepcopy(config)
  config.unlock()
  config.data.sources = ml_collections.ConfigDict(sources)
  for k, v in data.items():
    config.data[k] = v
  return config


def with_overrides(config, *overrides):
  """A copy of a run's ConfigDict with "a.b=v" overrides applied."""
  import copy

  from srino_jax.training import configfile
  return configfile.apply_overrides(copy.deepcopy(config), overrides)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
  """The tiny QB run's config (configs/qb.py + TINY_OVERRIDES), its synthetic data made."""
  from srino_jax.training import configfile, loop
  root = tmp_path_factory.mktemp("data")
  config = configfile.load_config(str(REPO / "configs" / "qb.py"),
                                  (f"data.root={root}", *TINY_OVERRIDES))
  loop.prepare_data(as_run(config))
  return config


@pytest.fixture(scope="session")
def trained(tiny_run, tmp_path_factory):
  """A workdir where the tiny run trained aux, stage1 and stage2 to the end."""
  from srino_jax.training import loop
  workdir = str(tmp_path_factory.mktemp("run"))
  loop.train(as_run(tiny_run, workdir), progress=False)
  return workdir


def paper_config(*overrides):
  """configs/base.py (the paper's recipe) with "a.b=v" overrides."""
  from srino_jax.training import configfile
  return configfile.load_config(str(REPO / "configs" / "base.py"), overrides)


def paper_model_config(config_sensor="qb", **fields):
  """The recipe's ModelConfig for a sensor, with `fields` replaced (e.g. sensor=None)."""
  import dataclasses

  from srino_jax.training import run
  return dataclasses.replace(run.model_config(paper_config(f"sensor={config_sensor}")),
                             **fields)


def paper_optimizer(stage, **optim):
  """The recipe's optimizer of `stage` with `optim` fields replaced (e.g. learning_rate)."""
  from srino_jax.training import optim as optim_mod
  return optim_mod.stage_optimizer(paper_config(*(f"optim.{k}={v}" for k, v in optim.items())),
                                   stage)
