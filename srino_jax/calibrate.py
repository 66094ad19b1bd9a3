"""Calibrates a trained run's spread of K samples into an error bar, on its validation data.

  python -m srino_jax.calibrate --workdir runs/real4 [--num-samples 8]

Fuses the run's validation data (the validation parts of its real held-out blocks, or its
validation file; never test data) K times, and stores in <workdir>/calibration.json the
conformal scales c (levels 0.68, 0.9, 0.95) for which c x (the per-pixel std of the K
samples) held that share of the errors. `sample.py` then writes `sr_err90`, the calibrated
90 % error bar, beside `sr_std` when it samples with the same settings (stage, weights,
checkpoint, K, steps, eta); the scene tool writes it as <output stem>_std.tif.
"""

from __future__ import annotations

import argparse
import sys

from srino_jax import cli, inference
from srino_jax.errors import CheckpointError, UsageError
from srino_jax.training.calibration import calibrate, save_calibration
from srino_jax.training.run import WEIGHTS

PROG = "python -m srino_jax.calibrate"


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser(PROG, __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="the trained run (its best stage-2 weights)")
  p.add_argument("--num-samples", type=cli.positive_int,
                 help="K samples (>= 2; default: the run's config.diffusion.num_samples)")
  p.add_argument("--steps", type=cli.positive_int, help="DDIM steps (default: the run's)")
  p.add_argument("--eta", type=float, help="DDIM eta (default: the run's)")
  p.add_argument("--weights", choices=WEIGHTS, help="default: the run's (the EMA if kept)")
  p.add_argument("--which", choices=("best", "last"), default="best")
  p.add_argument("--seed", type=int, default=0, help="seed of the samples' noise")
  return p


def _main(args) -> int:
  run = inference.open_run(args.workdir, which=args.which, weights=args.weights)
  k = args.num_samples or run.sampling.num_samples
  if k < 2:
    raise UsageError(f"a spread needs K >= 2 samples; the run samples K = {k}",
                     "Pass --num-samples 4 (or more).")
  params = inference.load_params(run)
  with cli.deferred_signals():
    try:
      result = calibrate(run, params, k, args.steps, args.eta, seed=args.seed)
    except ValueError as err:
      raise CheckpointError(str(err), "Calibrate a run with reduced-resolution validation "
                            "data.") from None
  path = save_calibration(run, result)
  scales = ", ".join(f"{q}: {c:.3f}" for q, c in result["scales"].items())
  print(f"wrote {path}: scales of the K = {k} spread ({scales}) from {result['n']} values")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  sys.exit(main())
