"""Fuses scenes with a trained SRINO: DDIM (the run's steps) with residuals recomputed every step.

  python sample.py --workdir runs/wv3 --input test_wv3_multiExm1.h5 --output sr.h5
  python sample.py --workdir runs/demo --input scene.mat --reduce --output sr.h5 --png quicklooks

Writes a PanCollection-style h5 with key `sr` (N x C x H x W, digital numbers) and, with
--num-samples K > 1, `sr_std` (per-pixel standard deviation over the K samples); prints the
quality table (reduced resolution when the input has `gt`, full resolution otherwise) with
the classical baselines beside SRINO.
"""

import argparse
import os
import time

import jax

from srino_jax import inference, metrics, quicklook, sensors
from srino_jax.data.pancollection import write_pancollection


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  src = p.add_mutually_exclusive_group(required=True)
  src.add_argument("--workdir", help="training run folder (uses its best stage-2 checkpoint)")
  src.add_argument("--checkpoint", help="a run, stage or step checkpoint folder")
  p.add_argument("--which", choices=("best", "last"), default="best",
                 help="with --workdir: best by validation Q2n (default) or the latest")
  p.add_argument("--stage", help="the trained stage that fuses (default: stage2, or the "
                 "stage folder given to --checkpoint)")
  p.add_argument("--input", required=True, help="PanCollection .h5 or MATLAB .mat scene")
  p.add_argument("--output", required=True, help="output .h5 (key sr, digital numbers)")
  p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
  p.add_argument("--sensor", help="sensor of the input (default: the run's)")
  p.add_argument("--reduce", action="store_true",
                 help=".mat input: fuse its Wald reduction, scored against the original MS")
  p.add_argument("--limit", type=int, help="fuse only the first N scenes of an .h5")
  p.add_argument("--num-samples", type=int, default=1, help="K samples per scene (vmapped)")
  p.add_argument("--steps", type=int, help="DDIM steps (default: the run's "
                 "config.diffusion.sample_steps)")
  p.add_argument("--eta", type=float, help="DDIM eta (default: the run's; 0 = deterministic)")
  p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
  p.add_argument("--guidance", choices=("none", "spatial", "spectral", "both", "gradient"),
                 help="the guidance mode expected: refused unless the model was trained with "
                 "it (a guidance ablation is a model trained with that mode)")
  p.add_argument("--batch-size", type=int, default=1, help="scenes per sampler call")
  p.add_argument("--methods", default="exp,brovey,gsa,mtf-glp-hpm",
                 help="baselines in the table, comma-separated ('' for none)")
  p.add_argument("--no-clip", action="store_true",
                 help="score the fused images unclipped (default: clipped to [0, 2^bits] as "
                 "the toolbox's th_values)")
  p.add_argument("--png", help="folder for RGB quick-looks (PAN | EXP | SRINO | GT)")
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  if os.path.exists(args.output) and not args.overwrite:
    raise SystemExit(f"error: {args.output} exists (pass --overwrite to replace it)")
  run, params = inference.load_trained(args.workdir, args.checkpoint, which=args.which,
                                       stage=args.stage)
  try:
    inference.check_guidance(run, args.guidance)
  except ValueError as err:
    raise SystemExit(f"error: {err}") from None
  trained = sensors.get_sensor(inference.model_sensor(run))
  sensor = sensors.get_sensor(args.sensor or inference.model_sensor(run))
  if sensor.bands != trained.bands:
    raise SystemExit(f"error: the model fuses {trained.bands} bands, "
                     f"sensor {sensor.name} has {sensor.bands}")
  data = inference.read_inputs(args.input, sensor, reduce=args.reduce, limit=args.limit)
  t0 = time.perf_counter()
  mean, std = inference.fuse_scenes(run, params, data, jax.random.PRNGKey(args.seed),
                                    args.num_samples, args.steps, args.eta, args.guidance,
                                    args.batch_size)
  seconds = (time.perf_counter() - t0) / len(mean)
  out = {"sr": mean, **({"sr_std": std} if args.num_samples > 1 else {})}
  write_pancollection(args.output, out, sensor, overwrite=args.overwrite,
                      extra={"source": os.path.abspath(args.input), "samples": args.num_samples})
  print(f"wrote {args.output} ({len(mean)} scenes, {seconds:.2f} s per scene)")
  methods = [m for m in args.methods.split(",") if m]
  rows = inference.comparison_rows(data, mean, sensor, methods, seconds=seconds,
                                   clip=not args.no_clip)
  clip = "unclipped" if args.no_clip else "fused images clipped to [0, 2^bits]"
  print(metrics.format_table(rows, title=f"{args.input} ({sensor.name}; {clip})"))
  if args.png:
    paths = quicklook.save_quicklooks(args.png, data, mean, sensor)
    print(f"wrote {len(paths)} quick-looks to {args.png}")


if __name__ == "__main__":
  main()
