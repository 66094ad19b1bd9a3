"""Frozen run settings: what the entry points turn a config into.

`configs/*.py` are `ml_collections.ConfigDict`s; the entry point calls `RunConfig.from_dict(
config.to_dict())` once and the library sees only these dataclasses (hashable, so they can
be static arguments of jitted functions, though no config enters a jitted function here).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from srino_jax import sensors

__all__ = ["DataConfig", "DiffusionConfig", "OptimConfig", "LoopConfig", "RunConfig"]


@dataclasses.dataclass(frozen=True)
class DataConfig:
  root: str = "data/PanCollection"
  train: str = "train_wv3.h5"
  valid: str = "valid_wv3.h5"
  test: str = "test_wv3_multiExm1.h5"
  test_full: str = "test_wv3_OrigScale_multiExm1.h5"
  patch_size: int = 64
  synthetic: bool = False
  synthetic_train: int = 0
  synthetic_valid: int = 0
  synthetic_test: int = 0
  synthetic_test_size: int = 256

  def path(self, name: str) -> str:
    """Absolute-or-root-relative path of the file named by field `name` (train, valid, ...)."""
    return os.path.join(self.root, getattr(self, name))


@dataclasses.dataclass(frozen=True)
class DiffusionConfig:
  num_train_steps: int = 500
  schedule_s: float = 0.008
  sample_steps: int = 25
  eta: float = 0.0


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  learning_rate: float = 4e-5
  decay_every: int = 10_000
  decay_factor: float = 0.5
  b1: float = 0.9
  b2: float = 0.999
  weight_decay: float = 0.01
  grad_clip: float = 0.0


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  batch_size: int = 32
  aux_steps: int = 20_000
  stage1_steps: int = 150_000
  stage2_steps: int = 100_000
  log_every: int = 100
  eval_every: int = 5_000
  eval_examples: int = 64
  checkpoint_every: int = 5_000
  keep_checkpoints: int = 3

  def steps(self, stage: str) -> int:
    return getattr(self, f"{stage}_steps")


@dataclasses.dataclass(frozen=True)
class RunConfig:
  seed: int = 0
  sensor: str = "wv3"
  data: DataConfig = DataConfig()
  model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  diffusion: DiffusionConfig = DiffusionConfig()
  optim: OptimConfig = OptimConfig()
  train: LoopConfig = LoopConfig()

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "RunConfig":
    """Builds a RunConfig from nested plain dicts (e.g. `ConfigDict.to_dict()`)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
      raise ValueError(f"unknown config fields {sorted(unknown)}; known: {sorted(known)}")
    sensors.get_sensor(d.get("sensor", cls.sensor))  # fail early on a bad sensor name
    sub = {"data": DataConfig, "diffusion": DiffusionConfig, "optim": OptimConfig,
           "train": LoopConfig}
    kwargs = {k: (sub[k](**v) if k in sub else v) for k, v in d.items()}
    if "model" in kwargs:
      kwargs["model"] = dict(kwargs["model"])
    return cls(**kwargs)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  def model_config(self):
    """The `srino_jax.model.ModelConfig` of this run (bands from the sensor)."""
    from srino_jax.model import ModelConfig  # local: keeps config import-light
    return ModelConfig(bands=sensors.get_sensor(self.sensor).bands,
                       num_train_steps=self.diffusion.num_train_steps,
                       schedule_s=self.diffusion.schedule_s,
                       sensor=self.sensor, **self.model)
