r"""Trains SRINO: auxiliary networks (f_M2P, f_KE), stage 1 (backbone), stage 2 (adapters).

  python train.py --config configs/wv3.py --workdir runs/wv3 \
      --config.data.root=/path/to/PanCollection
  python train.py --config configs/demo.py --workdir runs/demo --stage stage1
  python train.py --config configs/wv3.py --print_config

Re-running the same command resumes every unfinished stage from its latest checkpoint.
Override any config field with --config.<group>.<field>=value (typed as the field; unknown
fields are refused). Bad arguments, data or workdirs are refused before anything is written.
"""

import argparse
import logging
import os

from srino_jax import cli
from srino_jax.errors import MissingInputError, UsageError
from srino_jax.training import configfile, loop, preflight, sharding, stages

PROG = "python train.py"
EXIT_CODES = """exit codes: 0 done, 2 bad arguments or config, 3 missing or bad data, 4 no usable
checkpoint (a workdir of another model, a stage to train first), 5 workdir not writable or
disk full, 130 / 143 stopped by SIGINT / SIGTERM (a checkpoint of the current step is saved
first; re-run the same command to resume)."""

SOURCES_HELP = """  config.data.sources: named training sources with sampling weights, set in a config file
    (empty in the paper's configs: train on data.train). configs/demo.py and configs/real4.py
    list theirs; each entry's fields are flags then, e.g.
    --config.data.sources.wv3_example.weight=0.2. Entry fields: kind ("file": path under
    data.root; "real": scene, a name or .mat path in data.realdata), weight, optional (a
    missing real scene is left out with a warning)."""


def _fields_help() -> str:
  import configs.base  # noqa: PLC0415 - only for the help text
  fields = configfile.flat_fields(configs.base.get_config())
  return EXIT_CODES + "\n\nconfig fields and the paper's defaults (configs/base.py):\n" + (
      "\n".join(f"  --config.{name}={value!r}" for name, value in fields.items())) + (
      "\n" + SOURCES_HELP)


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser(PROG, __doc__, epilog=_fields_help(),
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--config", required=True, metavar="PATH",
                 help="config file (configs/<name>.py) defining get_config()")
  p.add_argument("--workdir", help="output folder: checkpoints/, logs/ (TensorBoard + "
                 "metrics.jsonl), config.json; resumed if it exists (required to train)")
  p.add_argument("--stage", default="all", choices=["all", *stages.STAGES],
                 help="which stage to train; 'all' runs " + ", ".join(stages.SRINO_STAGES) +
                 " in order, then the learned baselines named by config.train.baselines "
                 "(e.g. pnn,fusionnet)")
  p.add_argument("--print_config", action="store_true",
                 help="print the resolved config and exit")
  p.add_argument("--multihost", action="store_true",
                 help="call jax.distributed.initialize() first (multi-host TPU/GPU runs)")
  p.add_argument("--quiet", action="store_true", help="no progress bars")
  return p


def parse_args(argv=None):
  """(args, overrides): the flags, and the "a.b=v" of every --config.a.b=v / --config.a.b v
  (`configfile.parse_config_flags`: UsageError for a stray argument, SystemExit for --help)."""
  return configfile.parse_config_flags(build_parser(), argv)


def _main(args) -> int:
  # Orbax logs every save at INFO, and a failed background save as ERROR with its
  # traceback before it re-raises it to us (reported once, as one line): quiet unless --debug.
  logging.getLogger("absl").setLevel(logging.WARNING if args.debug else logging.CRITICAL)
  try:
    config = configfile.load_config(args.config, args.overrides)
  except FileNotFoundError as err:
    raise MissingInputError(str(err), "Check the --config path.", file=args.config) from None
  except ValueError as err:
    raise UsageError(str(err), "See python train.py --help for the config fields.") from None
  if args.print_config:
    print(config)
    return 0
  if args.workdir is None:
    raise UsageError("--workdir is required to train", "Give the run's output folder.")
  run = preflight.make_run(config, args.workdir)
  try:
    todo = loop.all_stages(run) if args.stage == "all" else (args.stage,)
  except ValueError as err:  # an unknown stage in config.train.baselines
    raise UsageError(f"--config.train.baselines: {err}", "Name registered stages.") from None
  # Everything that can be checked is checked before the workdir is created.
  preflight.check_config(run, todo)
  preflight.check_workdir(run, todo)
  if args.multihost:
    sharding.initialize_distributed()
  with cli.reading(config.data.root):
    loop.prepare_data(run)
  preflight.check_data(run)
  # One train.py per workdir; SIGINT/SIGTERM during training stop at the next step boundary
  # (never inside JAX), after a checkpoint of the current step.
  with run.lock(), cli.deferred_signals():
    loop.train(run, todo, progress=not args.quiet)
  print(f"trained {', '.join(todo)} in {os.path.abspath(args.workdir)}")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, configfile.ConfigFlagsParser(build_parser()), argv)


if __name__ == "__main__":
  raise SystemExit(main())
