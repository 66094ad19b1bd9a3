"""The sensor configs are the paper's recipe; every config builds a valid run; the recipe's
numbers live in configs/ only (no library default repeats them)."""

import importlib
import inspect
import sys

import pytest

from conftest import REPO, as_run
from srino_jax import model, sensors
from srino_jax.diffusion import Diffusion
from srino_jax.training import configfile, optim, run as runs

sys.path.insert(0, str(REPO))  # configs/ is a folder of the repo, not of the package

PAPER = {("optim", "learning_rate"): 4e-5, ("optim", "decay_every"): 10_000,
         ("optim", "decay_factor"): 0.5, ("optim", "b1"): 0.9, ("optim", "b2"): 0.999,
         ("train", "batch_size"): 32, ("data", "patch_size"): 64,
         ("diffusion", "num_train_steps"): 500, ("diffusion", "schedule_s"): 0.008,
         ("diffusion", "sample_steps"): 25, ("diffusion", "eta"): 0.0,
         ("model", "kernel_size"): 11, ("model", "backbone"): "galerkin",
         ("model", "guidance"): "both", ("diffusion", "residual_scale"): 1.0,
         ("model", "condition_lms"): False}


@pytest.mark.parametrize("name", ["wv3", "qb", "gf2", "wv2"])
def test_sensor_configs_are_the_papers_recipe(name):
  config = importlib.import_module(f"configs.{name}").get_config()
  for (group, field), value in PAPER.items():
    assert config[group][field] == value, (name, group, field)
  assert config.sensor == name
  assert config.data.train == f"train_{name}.h5"
  assert config.data.test_full == f"test_{name}_OrigScale_multiExm1.h5"
  cfg = runs.model_config(config)
  assert cfg.bands == sensors.get_sensor(name).bands
  # The ModelConfig holds the config's values, the diffusion ones included.
  d = config.diffusion
  assert (cfg.width, cfg.diffusion) == (config.model.width, Diffusion(
      d.num_train_steps, d.schedule_s, d.residual_scale))
  assert hash(cfg) == hash(runs.model_config(config))  # a jit static argument
  assert cfg.diffusion.alpha_bar.shape == (config.diffusion.num_train_steps,)


def test_demo_config_builds_and_makes_its_own_data():
  config = configfile.load_config(str(REPO / "configs" / "demo.py"))
  assert config.data.synthetic and config.train.batch_size % 2 == 0
  cfg = runs.model_config(config)
  assert cfg.width % cfg.heads == 0
  assert as_run(config).data_path("test") == "data/demo/test_wv3_multiExm1.h5"
  assert as_run(config).stage_steps("stage2") == config.train.stage2_steps


def test_unknown_fields_and_sensors_are_refused():
  config = importlib.import_module("configs.wv3").get_config()
  config.lock()
  with pytest.raises(ValueError, match="unknown config fields"):
    configfile.apply_overrides(config, ["optimiser.learning_rate=1"])
  with pytest.raises(ValueError, match="unknown sensor"):
    runs.model_config(configfile.apply_overrides(config, ["sensor=landsat"]))


def test_library_signatures_carry_no_recipe_numbers():
  """ModelConfig's fields and the optimizer have no defaults (they come from configs/);
  only the interfaces named earlier keep theirs (ddim_sample's 25, cosine_alpha_bar's 500)."""
  import dataclasses

  from srino_jax import sampler, schedule
  defaults = {f.name: f.default for f in dataclasses.fields(model.ModelConfig)
              if f.default is not dataclasses.MISSING}
  assert defaults == {"sensor": None}
  # model.sample's optional progress hook (on_step=None) is not a number of the recipe.
  hooks = {"on_step": None}
  for fn in (optim.make_optimizer, optim.lr_schedule, model.sample, schedule.ddim_timesteps):
    params = inspect.signature(fn).parameters.values()
    assert all(p.default is inspect.Parameter.empty or
               (p.name in hooks and p.default is hooks[p.name]) for p in params), fn.__name__
  assert inspect.signature(sampler.ddim_sample).parameters["num_steps"].default == 25
  ab = inspect.signature(schedule.cosine_alpha_bar).parameters
  assert (ab["num_steps"].default, ab["s"].default) == (500, 0.008)
