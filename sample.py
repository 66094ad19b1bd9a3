"""Fuses scenes with a trained SRINO: DDIM (the run's steps) with residuals recomputed every step.

  python sample.py --workdir runs/wv3 --input test_wv3_multiExm1.h5 --output sr.h5
  python sample.py --workdir runs/demo --input scene.mat --reduce --output sr.h5 --png quicklooks

Writes a PanCollection-style h5 with key `sr` (N x C x H x W, digital numbers) and, with
--num-samples K > 1, `sr_std` (per-pixel standard deviation over the K samples) and, when
the run was calibrated for these settings (python -m srino_jax.calibrate), `sr_err90`: the
calibrated 90 % error bar (attributes err90_nominal_coverage, err90_scale); prints the
quality table (reduced resolution when the input has `gt`, full resolution otherwise) with
the classical baselines beside SRINO.

Everything is checked before any compilation or sampling: the arguments, the run, the input
(read and validated, and large enough for the table), the output (not existing without
--overwrite, writable) and the checkpoint (loaded).
"""

import argparse
import logging
import os
import time

import jax
import numpy as np

from srino_jax import baselines, cli, inference, metrics, quicklook, sensors
from srino_jax.data.pancollection import write_pancollection
from srino_jax.errors import CheckpointError, InputError, UsageError
from srino_jax.model import GUIDANCE_MODES
from srino_jax.training.calibration import scale_for
from srino_jax.training.run import WEIGHTS

PROG = "python sample.py"
EPILOG = """exit codes: 0 done (output written and the table printed), 2 bad arguments, 3 missing
or bad input (or too small for the table: --no-table), 4 no usable run or checkpoint, 5 output
exists (--overwrite) or cannot be written, 130 / 143 stopped by SIGINT / SIGTERM (nothing
written, an existing output left as it was)."""


def _eta(text: str) -> float:
  try:
    value = float(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
  if not value >= 0 or value == float("inf"):
    raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
  return value


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser(PROG, __doc__, epilog=EPILOG,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  src = p.add_mutually_exclusive_group(required=True)
  src.add_argument("--workdir", help="training run folder (uses its best stage-2 checkpoint)")
  src.add_argument("--checkpoint", help="a run, stage or step checkpoint folder")
  p.add_argument("--which", choices=("best", "last"), default="best",
                 help="with --workdir: best by validation Q2n (default) or the latest")
  p.add_argument("--weights", choices=WEIGHTS,
                 help="the checkpoint's EMA weights (default when the run keeps an EMA: "
                 "config.train.ema_decay > 0) or the optimizer's online weights; also for the "
                 "learned baselines' rows")
  p.add_argument("--stage", help="the trained stage that fuses (default: stage2, or the "
                 "stage folder given to --checkpoint)")
  p.add_argument("--input", required=True, help="PanCollection .h5 or MATLAB .mat scene")
  p.add_argument("--output", required=True, help="output .h5 (key sr, digital numbers)")
  p.add_argument("--overwrite", action="store_true",
                 help="replace an existing --output (and quick-looks in --png)")
  p.add_argument("--sensor", help="sensor of the input (default: the run's)")
  p.add_argument("--bits", type=cli.bit_depth,
                 help="bit depth of the input's digital numbers (default: a .mat scene's L, "
                      "else the sensor's, e.g. 11 for WV3); 8 for 8-bit products")
  p.add_argument("--reduce", action="store_true",
                 help=".mat input: fuse its Wald reduction, scored against the original MS")
  p.add_argument("--limit", type=cli.positive_int, help="fuse only the first N scenes of an .h5")
  p.add_argument("--num-samples", type=cli.positive_int,
                 help="K samples per scene (vmapped; the output is their mean, sr_std their "
                 "spread; default: the run's config.diffusion.num_samples)")
  p.add_argument("--steps", type=cli.positive_int, help="DDIM steps (default: the run's "
                 "config.diffusion.sample_steps)")
  p.add_argument("--eta", type=_eta, help="DDIM eta >= 0 (default: the run's; 0 = "
                 "deterministic)")
  p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
  p.add_argument("--guidance", choices=tuple(GUIDANCE_MODES),
                 help="the guidance mode expected: refused unless the model was trained with "
                 "it (a guidance ablation is a model trained with that mode)")
  p.add_argument("--batch-size", type=cli.positive_int, default=1,
                 help="scenes per sampler call")
  p.add_argument("--methods", default="exp,brovey,gsa,mtf-glp-hpm",
                 help="baselines in the table, comma-separated ('' for none)")
  p.add_argument("--no-learned", action="store_true",
                 help="leave out of the table the learned baselines (PNN, FusionNet) trained "
                 "in the run folder (default: every one with a checkpoint there)")
  p.add_argument("--no-clip", action="store_true",
                 help="score the fused images unclipped (default: clipped to [0, 2^bits] as "
                 "the toolbox's th_values)")
  p.add_argument("--dim-cut", type=cli.nonnegative_int, default=0,
                 help="border cut of the quality table, the toolbox's dim_cut (its scripts use "
                 "21; default 0: none); every table states the cut it used")
  p.add_argument("--no-table", action="store_true",
                 help="write the output without the quality table (e.g. scenes too small for "
                 "its 32 x 32 blocks)")
  p.add_argument("--png", help="folder for RGB quick-looks (PAN | EXP | SRINO | GT)")
  return p


def _check_run(args):
  """(run, input sensor, methods); refuses what the run cannot do."""
  try:
    run = inference.open_run(args.workdir, args.checkpoint, which=args.which, stage=args.stage,
                             weights=args.weights)
    inference.check_guidance(run, args.guidance)
    sensor = sensors.get_sensor(args.sensor or run.sensor.name)
  except ValueError as err:
    raise UsageError(str(err), f"See {PROG} --help.") from None
  if sensor.bands != run.sensor.bands:
    raise UsageError(f"the model fuses {run.sensor.bands} bands, sensor {sensor.name} has "
                     f"{sensor.bands}", f"Give the run's sensor ({run.sensor.name}) or omit "
                     "--sensor.")
  known = baselines.available_methods()
  methods = [m for m in args.methods.split(",") if m]
  bad = baselines.unknown_methods(methods)
  if bad:
    raise UsageError(f"--methods: unknown {', '.join(bad)}", f"Choose from {', '.join(known)}.")
  return run, sensor, methods


def _check_table(args, data, sensor) -> None:
  """Scores the upsampled MS of the first scene as the table will score SRINO's output."""
  one = {k: v[:1] for k, v in data.items()}
  try:
    inference.comparison_rows(one, one["lms"], sensor, methods=(), clip=not args.no_clip,
                              dim_cut=args.dim_cut)
  except ValueError as err:
    h, w = data["pan"].shape[1:3]
    raise InputError(f"{args.input}: the {h} x {w} PAN is too small for the quality table "
                     f"({err})", "Pass --no-table to fuse it without the table.") from None


def _main(args) -> int:
  logging.getLogger("absl").setLevel(logging.WARNING if args.debug else logging.ERROR)
  run, sensor, methods = _check_run(args)
  with cli.reading(args.input):
    # Model units are DN / the input's own maximum (a .mat's L or --bits): the same sensor
    # converts the fused images back to DN and scores them.
    data, sensor = inference.read_input(args.input, sensor, reduce=args.reduce,
                                        limit=args.limit, bits=args.bits)
  n = len(data["pan"])
  if not args.no_table:
    _check_table(args, data, sensor)
  cli.check_writable(args.output, args.overwrite, inputs={"--input": args.input})
  if args.png:
    for i in range(n):
      cli.check_writable(os.path.join(args.png, f"scene_{i:03d}.png"), args.overwrite)
  params = inference.load_params(run)
  k = args.num_samples or run.sampling.num_samples  # K: the flag, else the run's default
  t0 = time.perf_counter()
  # A signal during compilation or sampling stops between sampler calls, never inside JAX.
  with cli.deferred_signals():
    fuse = inference.make_fuser(run, params, k, args.steps, args.eta)
    mean, std = inference.fuse_scenes(fuse, data, jax.random.key(args.seed), args.batch_size,
                                      progress=True)
  if not np.all(np.isfinite(mean)):
    raise CheckpointError(f"the model's output holds {int(np.sum(~np.isfinite(mean)))} "
                          f"NaN/Inf values: nothing written", "Check the run's training logs.")
  seconds = (time.perf_counter() - t0) / n
  drawn = fuse.samples  # 1 for a deterministic stage (a learned baseline), whatever asked
  out = {"sr": mean, **({"sr_std": std} if drawn > 1 else {})}
  extra = {"source": os.path.abspath(args.input), "samples": drawn}
  scale = scale_for(run, 0.9, drawn, args.steps, args.eta) if drawn > 1 else None
  if scale is not None:  # python -m srino_jax.calibrate measured it for these settings
    out["sr_err90"] = scale * std
    extra.update(err90_nominal_coverage=0.9, err90_scale=scale)
  # Digital numbers here: the writer's "unit" check (max <= 1.5) would refuse a model whose
  # output overshoots, after all the sampling.
  out = {k: sensor.to_dn(v) for k, v in out.items()}
  # Deferred: a signal while h5py writes is recorded (not raised inside one of its
  # callbacks, which would swallow it) and stops the write before the file is published.
  with cli.deferred_signals():
    write_pancollection(args.output, out, sensor, units="dn", overwrite=args.overwrite,
                        extra=extra)
  print(f"wrote {args.output} ({n} scenes, {seconds:.2f} s per scene)")
  if not args.no_table:
    # Learned baselines (PNN, FusionNet) trained in the same run folder join the table.
    others = ({} if args.no_learned or run.stage != inference.DEFAULT_STAGE
              else inference.learned_fusions(run, data))
    rows = inference.comparison_rows(data, mean, sensor, methods, seconds=seconds,
                                     clip=not args.no_clip, others=others,
                                     dim_cut=args.dim_cut)
    print(metrics.format_table(rows, title=f"{args.input} ({sensor.name})"))
  if args.png:
    paths = quicklook.save_quicklooks(args.png, data, mean, sensor)
    print(f"wrote {len(paths)} quick-looks to {args.png}")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  raise SystemExit(main())
