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
from srino_jax.training import configfile, datasets, loop, run as runs

CONFIG = pathlib.Path(__file__).resolve().parent / "configs" / "demo.py"

REAL_WV2 = pathlib.Path(__file__).resolve().parent.parent / "shared" / "realdata" / \
    "pypansharpening_imgWV2.mat"


def _table(run, params, data, sensor, title):
  t0 = time.perf_counter()
  fused, _ = inference.fuse_scenes(run, params, data, jax.random.PRNGKey(run.config.seed))
  seconds = (time.perf_counter() - t0) / len(fused)
  others = inference.learned_fusions(run, data)  # PNN, FusionNet trained in the same run
  rows = inference.comparison_rows(data, fused, sensor, seconds=seconds, others=others)
  print(metrics.format_table(rows, title=f"{title}\n(fused images clipped to [0, 2^bits] as "
                             "the toolbox's th_values; no border cut)"), flush=True)
  return rows


def _trains_on_real(config) -> bool:
  """Whether a real scene is among the run's training sources (the optional WV3 example)."""
  return any(entry.kind == "real" for _, entry in datasets.source_entries(config))


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser("python demo.py", __doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", default="runs/demo", help="run folder (default runs/demo)")
  p.add_argument("--fresh", action="store_true", help="delete the run folder first")
  return p


def _main(args) -> int:
  if args.fresh and os.path.isdir(args.workdir):
    shutil.rmtree(args.workdir)
  start = time.perf_counter()
  config = configfile.load_config(str(CONFIG))
  loop.prepare_data(config)
  # A signal during compilation, training or sampling stops between steps / sampler calls.
  with cli.deferred_signals():
    loop.train(config, args.workdir, loop.all_stages(config))
    trained = time.perf_counter()
    run, params = inference.load_trained(workdir=args.workdir)
    test = inference.read_inputs(runs.data_path(config, "test"), config.sensor)
    _table(run, params, test, config.sensor,
           f"Synthetic {config.sensor.upper()} test set, reduced resolution "
           f"({len(test['pan'])} scenes, PAN {test['pan'].shape[1]} px)")
    wv2 = os.environ.get("SRINO_REAL_WV2", str(REAL_WV2))
    if os.path.exists(wv2):
      real = inference.read_inputs(wv2, "wv2", reduce=True)
      _table(run, params, real, inference.input_sensor(wv2, "wv2"), "Real WorldView-2 scene, Wald reduction "
             "(MS 80x80 -> 320x320, GT = original MS; models trained on synthetic WV3"
             + (" + the real WV3 example)" if _trains_on_real(config) else " only)"))
    else:
      print(f"[skipped] real WV2 scene not found at {wv2}")
  print(f"demo: training {trained - start:.0f} s, total {time.perf_counter() - start:.0f} s")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  raise SystemExit(main())
