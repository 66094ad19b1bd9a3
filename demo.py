"""The srino-jax demo: synthetic data, all three training stages, sampling, comparison tables.

  python demo.py [--workdir runs/demo] [--fresh]

Trains `configs/demo.py` (a tiny SRINO, then the learned baselines PNN and FusionNet) on
synthetic WorldView-3-like scenes on the CPU, plus the real WorldView-3 example of
../shared/realdata when present, then fuses (1) the synthetic reduced-resolution test scenes
and (2) the real WorldView-2 scene of ../shared/realdata at the Wald-reduced scale
(evaluation only; skipped with a message when absent), printing SRINO and the learned
baselines beside the classical ones. Re-running resumes.
"""

import argparse
import os
import pathlib
import shutil
import time

import jax

from srino_jax import cli, inference, metrics
from srino_jax.training import configfile, loop
from srino_jax.training.run import Run

CONFIG = pathlib.Path(__file__).resolve().parent / "configs" / "demo.py"

REAL_WV2 = pathlib.Path(__file__).resolve().parent.parent / "shared" / "realdata" / \
    "pypansharpening_imgWV2.mat"


def _table(run, fuse, data, sensor, title, dim_cut):
  t0 = time.perf_counter()
  fused, _ = inference.fuse_scenes(fuse, data, jax.random.key(run.config.seed), progress=True)
  seconds = (time.perf_counter() - t0) / len(fused)
  others = inference.learned_fusions(run, data)  # PNN, FusionNet trained in the same run
  rows = inference.comparison_rows(data, fused, sensor, seconds=seconds, others=others,
                                   dim_cut=dim_cut)  # fused clipped as the toolbox's th_values
  print(metrics.format_table(rows, title=title), flush=True)  # ends with its protocol line
  return rows


def _trains_on_real(run) -> bool:
  """Whether a real scene is among the run's training sources (the optional WV3 example)."""
  return any(source.kind == "real" for source in run.sources)


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser("python demo.py", __doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", default="runs/demo", help="run folder (default runs/demo)")
  p.add_argument("--fresh", action="store_true", help="delete the run folder first")
  p.add_argument("--dim-cut", type=cli.nonnegative_int, default=0,
                 help="border cut of the tables, the toolbox's dim_cut (its scripts use 21 "
                 "on 256-pixel scenes; default 0: none, as the demo's scenes are small)")
  return p


def _main(args) -> int:
  if args.fresh and os.path.isdir(args.workdir):
    shutil.rmtree(args.workdir)
  start = time.perf_counter()
  config = configfile.load_config(str(CONFIG))
  run = Run.from_config(config, args.workdir)
  loop.prepare_data(run)
  # A signal during compilation, training or sampling stops between steps / sampler calls.
  with cli.deferred_signals():
    loop.train(run, loop.all_stages(run))
    trained = time.perf_counter()
    run = Run.load(args.workdir)  # the best stage-2 checkpoint
    fuse = inference.make_fuser(run, run.params())  # built once, for both tables
    test, sensor = inference.read_input(run.data_path("test"), config.sensor)
    _table(run, fuse, test, sensor,
           f"Synthetic {config.sensor.upper()} test set, reduced resolution "
           f"({len(test['pan'])} scenes, PAN {test['pan'].shape[1]} px)", args.dim_cut)
    wv2 = os.environ.get("SRINO_REAL_WV2", str(REAL_WV2))
    if os.path.exists(wv2):
      real, sensor = inference.read_input(wv2, "wv2", reduce=True)  # DN / 2^L - 1
      _table(run, fuse, real, sensor, "Real WorldView-2 scene, Wald reduction (MS 80x80 -> "
             "320x320, GT = original MS; models trained on synthetic WV3"
             + (" + the real WV3 example)" if _trains_on_real(run) else " only)"),
             args.dim_cut)
    else:
      print(f"[skipped] real WV2 scene not found at {wv2}")
  print(f"demo: training {trained - start:.0f} s, total {time.perf_counter() - start:.0f} s")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  raise SystemExit(main())
