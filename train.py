r"""Trains SRINO: auxiliary networks (f_M2P, f_KE), stage 1 (backbone), stage 2 (adapters).

  python train.py --config configs/wv3.py --workdir runs/wv3 \
      --config.data.root=/path/to/PanCollection
  python train.py --config configs/demo.py --workdir runs/demo --stage stage1
  python train.py --config configs/wv3.py --print_config

Re-running the same command resumes every unfinished stage from its latest checkpoint.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from srino_jax.training import loop, sharding
from srino_jax.training.config import RunConfig


def _fields_help() -> str:
  import configs.base  # noqa: PLC0415 - only for the help text
  flat = []
  def walk(prefix, d):
    for k, v in d.items():
      if isinstance(v, dict):
        walk(f"{prefix}{k}.", v)
      else:
        flat.append(f"{prefix}{k}={v!r}")
  walk("", configs.base.get_config().to_dict())
  return ("Config file (configs/<name>.py); override fields with --config.<field>=value. "
          "Fields and the paper's defaults: " + ", ".join(flat))


_CONFIG = config_flags.DEFINE_config_file("config", None, _fields_help(), lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder: checkpoints/, logs/ "
                               "(TensorBoard + metrics.jsonl), config.json. Resumed if it exists.")
_STAGE = flags.DEFINE_enum("stage", "all", ["all", *loop.STAGES],
                           "Which stage to train; 'all' runs aux, stage1, stage2 in order.")
_PRINT = flags.DEFINE_bool("print_config", False, "Print the resolved config and exit.")
_MULTIHOST = flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first "
                               "(multi-host TPU/GPU runs).")
_QUIET = flags.DEFINE_bool("quiet", False, "No progress bars.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
  config = _CONFIG.value
  if _PRINT.value:
    print(config)
    return
  if _WORKDIR.value is None:
    raise app.UsageError("--workdir is required")
  if _MULTIHOST.value:
    sharding.initialize_distributed()
  run = RunConfig.from_dict(config.to_dict())
  loop.prepare_data(run)
  stages = loop.STAGES if _STAGE.value == "all" else (_STAGE.value,)
  loop.train(run, _WORKDIR.value, stages, progress=not _QUIET.value)


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  app.run(main)
