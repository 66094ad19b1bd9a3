"""The stage registry: what each training stage trains, inherits, optimises and validates.

Each stage is one frozen record. The loop, the optimizer's parameter labels, validation and
inference read it, so adding a stage (e.g. a learned baseline) is one `register_stage` call:

  aux     f_M2P and f_KE on (H, P) and (H, L) pairs      validation: loss (lower is better)
  stage1  the neural-operator backbone, condition = H    validation: loss (lower is better)
  stage2  the Triple Guidance Adapters; backbone,        validation: DDIM fusion (the run's
          f_M2P and f_KE frozen (taken from aux/stage1)  steps), Q2n (higher is better)

A stage's parameter tree is whatever its `init` returns (SRINO's: the groups backbone, tga,
m2p, ke); `trains` names the top-level groups its optimizer moves, the others get zero
updates. A learned baseline registers its own `init` (say {"pnn": ...}), trains=("pnn",),
validation="fusion" and `fuse` = its forward pass: PNN and FusionNet are registered so
("pnn", "fusionnet"; `train.py --stage pnn`).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Any, Callable, Mapping

import jax

from srino_jax import learned, model as srino
from srino_jax.model import ModelConfig

__all__ = ["Stage", "STAGES", "SRINO_STAGES", "LEARNED_STAGES", "register_stage", "get_stage"]

# loss(cfg, params, batch, key) -> (scalar loss, dict of scalar metrics); a batch mean.
LossFn = Callable[[ModelConfig, Any, dict, jax.Array], tuple[jax.Array, dict]]
# init(cfg, key, pan_size) -> the stage's whole parameter tree (a dict of groups).
InitFn = Callable[[ModelConfig, jax.Array, int], dict]
# fuse(cfg, params, batch, key, num_steps, eta, on_step=None) -> (B, H, W, C) fused images,
# model units. batch may hold "origin" (B, 2) (SRINO's positional noise; others ignore it);
# on_step(i) is an optional host callback after sampling step i (stages without steps
# accept and ignore it).
FuseFn = Callable[..., jax.Array]

VALIDATIONS = ("loss", "fusion")


@dataclasses.dataclass(frozen=True)
class Stage:
  """One training stage.

  Attributes:
    name: the stage's name (`train.py --stage NAME`, `<workdir>/checkpoints/NAME`); its
      step count is the config field `train.<name>_steps`.
    loss: `loss(cfg, params, batch, key) -> (loss, metrics)`; the batch holds gt, lms, ms,
      pan (NHWC, model units).
    trains: top-level parameter groups the optimizer moves; the rest are frozen.
    inherits: {earlier stage: groups} taken from that stage's last checkpoint before
      training starts (frozen unless also in `trains`).
    init: `init(cfg, key, pan_size) -> params`, the fresh parameter tree.
    validation: "loss" (the loss on fixed validation patches, keys and noise) or "fusion"
      (`fuse` on the validation scenes, scored by Q2n).
    higher_is_better: whether a higher validation score is better (picks the best
      checkpoint).
    fuse: `fuse(cfg, params, batch, key, num_steps, eta, on_step=None) -> (B, H, W, C)`,
      the stage's fusion of a batch of (lms, ms, pan, optionally origin); required for
      "fusion" validation and to fuse scenes with the stage's parameters (inference).
    stream: the stage's fixed random-stream id: its training keys are
      fold_in(key(seed), stream) (`training.run.Run.stage_key`). Unique, never reused.
    label: its row name in comparison tables (stages that fuse).
    stochastic: whether `fuse` draws noise from its key (SRINO's sampler); a deterministic
      stage (a learned baseline's forward pass) is fused once however many samples are
      asked (`training.fuser.make_fuser`).
  """

  name: str
  stream: int
  loss: LossFn
  trains: tuple[str, ...]
  init: InitFn
  validation: str
  higher_is_better: bool
  inherits: Mapping[str, tuple[str, ...]] = dataclasses.field(
      default_factory=lambda: types.MappingProxyType({}))
  fuse: FuseFn | None = None
  label: str = ""
  stochastic: bool = False

  def __post_init__(self):
    if not self.trains:
      raise ValueError(f"stage {self.name!r}: `trains` names no parameter group")
    if self.validation not in VALIDATIONS:
      raise ValueError(f"stage {self.name!r}: validation must be one of {VALIDATIONS}, "
                       f"not {self.validation!r}")
    if self.validation == "fusion" and self.fuse is None:
      raise ValueError(f"stage {self.name!r}: a 'fusion' validation needs `fuse`")
    object.__setattr__(self, "inherits", types.MappingProxyType(
        {source: tuple(groups) for source, groups in self.inherits.items()}))

  def bind_loss(self, cfg: ModelConfig) -> Callable[[Any, dict, jax.Array], tuple]:
    """`loss_fn(params, batch, key)`: the stage's loss for one model, what the train step
    (`state.make_train_step`) and the validation (`state.make_eval_step`) both take."""
    return functools.partial(self.loss, cfg)


STAGES: dict[str, Stage] = {}


def register_stage(stage: Stage, overwrite: bool = False) -> Stage:
  """Adds `stage` to `STAGES` (its inherited stages must be registered already)."""
  if stage.name in STAGES and not overwrite:
    raise ValueError(f"stage {stage.name!r} is already registered (overwrite=True replaces it)")
  taken = [s.name for s in STAGES.values() if s.stream == stage.stream and s.name != stage.name]
  if taken:
    raise ValueError(f"stage {stage.name!r}: random stream {stage.stream} is stage "
                     f"{taken[0]!r}'s")
  unknown = [s for s in stage.inherits if s not in STAGES]
  if unknown:
    raise ValueError(f"stage {stage.name!r} inherits from unregistered stages {unknown}")
  STAGES[stage.name] = stage
  return stage


def get_stage(name: str) -> Stage:
  """The registered stage `name`.

  Raises:
    ValueError: unknown name; the message lists the registered stages.
  """
  try:
    return STAGES[name]
  except (KeyError, TypeError):
    raise ValueError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}") from None


# Streams 1..3 are SRINO's stages, 4 and 5 the learned baselines: the positions they had in
# the registry before streams were fixed ids, so the training keys of runs made before
# stayed the same.
register_stage(Stage("aux", 1, srino.aux_loss, trains=("m2p", "ke"), init=srino.init_params,
                     validation="loss", higher_is_better=False))
register_stage(Stage("stage1", 2, srino.stage1_loss, trains=("backbone",),
                     init=srino.init_params, validation="loss", higher_is_better=False))
register_stage(Stage("stage2", 3, srino.stage2_loss, trains=("tga",), init=srino.init_params,
                     validation="fusion", higher_is_better=True, fuse=srino.sample,
                     inherits={"aux": ("m2p", "ke"), "stage1": ("backbone",)}, label="SRINO",
                     stochastic=True))

# What `train.py --stage all` runs, in order (plus the learned baselines a config lists in
# `train.baselines`).
SRINO_STAGES: tuple[str, ...] = ("aux", "stage1", "stage2")

# The learned baselines (`srino_jax.learned`): each trains its own parameter group on the same
# batches, is validated by fusion (Q2n) and fuses with one forward pass.
_LEARNED_STREAMS = {"pnn": (4, "PNN"), "fusionnet": (5, "FusionNet")}
for _name, (_init, _loss, _fuse) in learned.LEARNED.items():
  _stream, _label = _LEARNED_STREAMS[_name]
  register_stage(Stage(_name, _stream, _loss, trains=(_name,), init=_init, validation="fusion",
                       higher_is_better=True, fuse=_fuse, label=_label))
LEARNED_STAGES: tuple[str, ...] = tuple(learned.LEARNED)
