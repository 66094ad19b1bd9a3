r"""Trains SRINO: auxiliary networks (f_M2P, f_KE), stage 1 (backbone), stage 2 (adapters).

  python train.py --config configs/wv3.py --workdir runs/wv3 \
      --config.data.root=/path/to/PanCollection
  python train.py --config configs/demo.py --workdir runs/demo --stage stage1
  python train.py --config configs/wv3.py --print_config

Re-running the same command resumes every unfinished stage from its latest checkpoint.
Override any config field with --config.<group>.<field>=value (typed as the field; unknown
fields are refused).
"""

import argparse
import logging
import sys

from srino_jax.training import configfile, loop, sharding, stages


def _fields_help() -> str:
  import configs.base  # noqa: PLC0415 - only for the help text
  fields = configfile.flat_fields(configs.base.get_config())
  return "config fields and the paper's defaults (configs/base.py):\n" + "\n".join(
      f"  --config.{name}={value!r}" for name, value in fields.items())


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__, epilog=_fields_help(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--config", required=True, metavar="PATH",
                 help="config file (configs/<name>.py) defining get_config()")
  p.add_argument("--workdir", help="output folder: checkpoints/, logs/ (TensorBoard + "
                 "metrics.jsonl), config.json; resumed if it exists (required to train)")
  p.add_argument("--stage", default="all", choices=["all", *stages.STAGES],
                 help="which stage to train; 'all' runs " + ", ".join(stages.SRINO_STAGES) +
                 " in order")
  p.add_argument("--print_config", action="store_true",
                 help="print the resolved config and exit")
  p.add_argument("--multihost", action="store_true",
                 help="call jax.distributed.initialize() first (multi-host TPU/GPU runs)")
  p.add_argument("--quiet", action="store_true", help="no progress bars")
  args, rest = p.parse_known_args(argv)
  overrides, i = [], 0
  while i < len(rest):  # --config.a.b=v or --config.a.b v
    if not rest[i].startswith("--config."):
      p.error(f"unrecognized argument {rest[i]!r}")
    item = rest[i][len("--config."):]
    if "=" not in item:
      if i + 1 == len(rest):
        p.error(f"--config.{item} needs a value")
      i += 1
      item = f"{item}={rest[i]}"
    overrides.append(item)
    i += 1
  return args, overrides


def main(argv=None):
  args, overrides = parse_args(argv)
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every save at INFO
  try:
    config = configfile.load_config(args.config, overrides)
  except (FileNotFoundError, ValueError) as err:
    sys.exit(f"error: {err}")
  if args.print_config:
    print(config)
    return
  if args.workdir is None:
    sys.exit("error: --workdir is required")
  if args.multihost:
    sharding.initialize_distributed()
  loop.prepare_data(config)
  todo = stages.SRINO_STAGES if args.stage == "all" else (args.stage,)
  loop.train(config, args.workdir, todo, progress=not args.quiet)


if __name__ == "__main__":
  main()
