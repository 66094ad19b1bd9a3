"""The sensor configs are the paper's recipe; every config builds a valid run."""

import importlib
import sys

import pytest

from conftest import REPO
from srino_jax import sensors
from srino_jax.training.config import RunConfig

sys.path.insert(0, str(REPO))  # configs/ is a folder of the repo, not of the package

PAPER = {("optim", "learning_rate"): 4e-5, ("optim", "decay_every"): 10_000,
         ("optim", "decay_factor"): 0.5, ("optim", "b1"): 0.9, ("optim", "b2"): 0.999,
         ("train", "batch_size"): 32, ("data", "patch_size"): 64,
         ("diffusion", "num_train_steps"): 500, ("diffusion", "schedule_s"): 0.008,
         ("diffusion", "sample_steps"): 25, ("diffusion", "eta"): 0.0,
         ("model", "kernel_size"): 11, ("model", "backbone"): "galerkin",
         ("model", "guidance"): "both", ("model", "residual_scale"): 1.0,
         ("model", "condition_lms"): False}


@pytest.mark.parametrize("name", ["wv3", "qb", "gf2", "wv2"])
def test_sensor_configs_are_the_papers_recipe(name):
  config = importlib.import_module(f"configs.{name}").get_config()
  for (group, field), value in PAPER.items():
    assert config[group][field] == value, (name, group, field)
  assert config.sensor == name
  assert config.data.train == f"train_{name}.h5"
  assert config.data.test_full == f"test_{name}_OrigScale_multiExm1.h5"
  run = RunConfig.from_dict(config.to_dict())
  assert run.model_config().bands == sensors.get_sensor(name).bands


def test_demo_config_builds_and_makes_its_own_data():
  config = importlib.import_module("configs.demo").get_config()
  run = RunConfig.from_dict(config.to_dict())
  assert run.data.synthetic and run.train.batch_size % 2 == 0
  assert run.model_config().width % run.model_config().heads == 0


def test_unknown_fields_and_sensors_are_refused():
  config = importlib.import_module("configs.wv3").get_config().to_dict()
  with pytest.raises(ValueError, match="unknown config fields"):
    RunConfig.from_dict({**config, "optimiser": {}})
  with pytest.raises(ValueError, match="unknown sensor"):
    RunConfig.from_dict({**config, "sensor": "landsat"})
