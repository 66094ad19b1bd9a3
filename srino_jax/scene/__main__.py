"""Fuses a PAN + MS GeoTIFF pair of any size into a georeferenced GeoTIFF.

  python -m srino_jax.scene --pan PAN.tif --ms MS.tif --output OUT.tif --method mtf-glp-hpm
  python -m srino_jax.scene --pan PAN.tif --ms MS.tif --output OUT.tif --workdir runs/wv3 \\
      --num-samples 4 --max-memory 2G --cog

The output is on the PAN grid (CRS and geotransform of the PAN, cut to the MS extent), has
the MS band descriptions, its data type (clipped to its range) and nodata. The scene is fused
in one piece when its estimated memory fits --max-memory, otherwise in overlapping tiles
blended with raised-cosine weights and streamed to disk. With --num-samples K > 1 (SRINO),
a second file <output stem>_std.tif (float32) holds the per-pixel standard deviation over
the K samples. An existing output is refused without --overwrite; an interrupted run leaves
no file under the output name. --export-mat also writes the fused scene (and its inputs)
as a .mat file for the MATLAB toolbox's Demo_Full_Resolution.m.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from srino_jax import cli, sensors
from srino_jax.errors import InputError, UsageError
from srino_jax.baselines import available_methods
from srino_jax.data import geotiff
from srino_jax.scene import export, fuse, memory, methods

# PAN pixels. Measured tiled (256^2 tiles) vs whole on the IKONOS 1024^2 PAN
# (benchmarks/results/scene.md): exp is exact at any overlap (the halo covers its filters);
# the global-statistics methods differ by their per-tile statistics, least at an actual
# overlap of 64 (MTF-GLP-HPM mean 3.02 DN vs 3.34 at 0 and 3.07 at 128; GSA 4.83 vs 4.92 and
# 4.90). SRINO (a trained configs/real4.py run, 25 steps, tiles sharing the scene's noise:
# srino_jax/noise.py) on IKONOS 1024^2 with 256^2 tiles: mean 3.07 DN / max 742 at overlap 0,
# 2.41 / 233 at 64, 2.23 / 246 at 128, against 15.5 DN between two seeds of the whole scene.
DEFAULT_OVERLAP = 64


def parse_args(argv=None) -> argparse.Namespace:
  return build_parser().parse_args(argv)


def _band_list(text: str) -> str:
  """--bands: checked for its form here (a usage error); the file's band count later."""
  try:
    geotiff.band_numbers(text)
  except ValueError as err:
    raise argparse.ArgumentTypeError(str(err)) from None
  return text


def build_parser() -> argparse.ArgumentParser:
  """The command line (the common error style of `srino_jax.cli`: --debug, exit codes)."""
  p = cli.make_parser("python -m srino_jax.scene", __doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--pan", required=True, help="single-band PAN GeoTIFF")
  p.add_argument("--ms", required=True, help="multispectral GeoTIFF of the same product "
                 "(same CRS, pixel size r times the PAN's: r a power of two for the "
                 "classical methods, the model's ratio for SRINO)")
  p.add_argument("--output", required=True, help="output GeoTIFF (PAN grid, MS bands)")
  how = p.add_mutually_exclusive_group(required=True)
  how.add_argument("--method", help="classical baseline: " + ", ".join(available_methods()))
  how.add_argument("--workdir", help="SRINO: a training run folder (best stage-2 checkpoint)")
  how.add_argument("--checkpoint", help="SRINO: a run, stage or step checkpoint folder")
  p.add_argument("--sensor", help="sensor of the pair (" + ", ".join(sensors.sensor_names())
                 + "); default: the run's for SRINO, a generic sensor (toolbox default MTF "
                 "gains, dtype range) for classical methods")
  p.add_argument("--bands", type=_band_list,
                 help="1-based MS bands in the sensor's order, e.g. 2,3,4,5 "
                 "(default: all, in file order); their count must match the sensor")
  p.add_argument("--nodata", type=float, help="nodata value of both inputs (default: as "
                 "declared in the files); nodata pixels stay nodata in the output")
  p.add_argument("--max-memory", default=None, help="memory budget, e.g. 2G or 512M "
                 "(default: 4G, or half the available memory if less)")
  p.add_argument("--tile", type=cli.positive_int, help="force tiles of N x N PAN pixels (multiple of the "
                 "ratio; default: whole scene when it fits the budget, else the largest tile "
                 "that does)")
  p.add_argument("--overlap", type=cli.nonnegative_int, default=DEFAULT_OVERLAP,
                 help=f"PAN pixels shared by neighbouring tiles (default {DEFAULT_OVERLAP})")
  p.add_argument("--num-samples", type=cli.positive_int, default=1, help="SRINO: K samples per pixel; "
                 "K > 1 writes <output stem>_std.tif with their per-pixel std")
  p.add_argument("--steps", type=cli.positive_int, help="SRINO: DDIM steps (default: the run's, 25)")
  p.add_argument("--seed", type=int, default=0, help="SRINO: seed of the initial noise")
  p.add_argument("--which", choices=("best", "last"), default="best",
                 help="with --workdir: the best checkpoint by validation Q2n or the latest")
  # training.run.WEIGHTS, written out: importing it would load JAX for classical methods.
  p.add_argument("--weights", choices=("ema", "online"),
                 help="SRINO: the checkpoint's EMA weights (default when the run keeps an "
                 "EMA) or the optimizer's online weights")
  p.add_argument("--dtype", type=cli.numeric_dtype,
                 help="stored data type (default: the MS file's, e.g. uint16)")
  p.add_argument("--cog", action="store_true", help="Cloud-Optimized GeoTIFF with overviews")
  p.add_argument("--export-mat", help="also write the fused scene with its inputs as a .mat "
                 "for the MATLAB toolbox (reads the whole output into memory)")
  p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
  p.add_argument("--no-progress", action="store_true", help="no progress bar")
  return p


def build_method(args, pair: geotiff.ScenePair) -> methods.SceneMethod:
  """The `SceneMethod` the flags ask for (SRINO loads its run here)."""
  if args.sensor:
    try:
      sensors.get_sensor(args.sensor)
    except (KeyError, ValueError) as e:
      raise UsageError(f"--sensor: {e}") from None
  if args.method:
    sensor = (sensors.get_sensor(args.sensor) if args.sensor
              else methods.generic_sensor(pair.bands, pair.dtype))
    return methods.classical_method(args.method, sensor)
  _enable_compile_cache()
  from srino_jax import inference
  run = inference.open_run(args.workdir, args.checkpoint, which=args.which,
                           weights=args.weights)
  params = inference.load_params(run)
  return methods.srino_method(run, params, args.sensor, args.num_samples, args.steps,
                              args.seed)


def _enable_compile_cache() -> None:
  """Every tile calls the sampler again: a persistent XLA cache makes that a disk read."""
  import os
  import jax
  if not jax.config.jax_compilation_cache_dir:
    path = os.path.join(os.path.expanduser("~"), ".cache", "srino_jax", "xla")
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _outputs(args) -> list[str]:
  """Every file the run writes: the fused scene, its std map (K > 1), the .mat export."""
  outs = [args.output]
  if args.num_samples > 1:
    out = pathlib.Path(args.output)
    outs.append(str(out.with_name(f"{out.stem}_std{out.suffix}")))
  return outs + ([args.export_mat] if args.export_mat else [])


def _main(args) -> int:
  if args.method and args.num_samples > 1:
    raise UsageError("--num-samples K > 1 needs SRINO (--workdir/--checkpoint)",
                     hint="a classical method gives one result")
  if args.method and args.method not in available_methods():
    raise UsageError(f"--method {args.method!r} is not a classical method",
                     hint="known: " + ", ".join(available_methods()))
  try:
    budget = (memory.parse_size(args.max_memory) if args.max_memory
              else memory.default_budget())
  except ValueError as e:
    raise UsageError(f"--max-memory: {e}") from None
  for out in _outputs(args):  # before reading anything or loading a model
    cli.check_writable(out, args.overwrite, inputs={"--pan": args.pan, "--ms": args.ms})
  with cli.reading():  # the readers name the files in their messages
    pair = geotiff.open_pair(args.pan, args.ms, bands=args.bands, nodata=args.nodata)
  if pair.bands < 2:  # as the .mat reader and make_dataset: nothing spectral to sharpen
    raise InputError(f"{args.ms}: {pair.bands} MS band selected; pan-sharpening needs a "
                     "multispectral image of 2 or more bands",
                     hint="give the product's MS file (or more --bands)")
  method = build_method(args, pair)
  with cli.reading():
    method.check_ratio(pair.ratio, f"{args.pan} / {args.ms}")
  if pair.bands != method.sensor.bands:
    raise InputError(f"{args.ms}: {pair.bands} bands selected but sensor "
                     f"{method.sensor.name} has {method.sensor.bands}",
                     hint="choose and order them with --bands, e.g. --bands 1,2,3,4")
  try:
    plan = memory.plan_fusion(method, *pair.shape, pair.ratio, budget, args.tile,
                              args.overlap)
  except ValueError as e:
    raise UsageError(str(e)) from None
  h, w = pair.shape
  layout = ("whole scene" if plan.whole else
            f"{plan.tiles} tiles of {plan.tile_rows} x {plan.tile_cols}, overlap {plan.overlap}")
  if args.tile and not plan.whole and (plan.tile_rows, plan.tile_cols) != (args.tile,) * 2:
    layout += (f" (--tile {args.tile} fitted per axis: the smallest tiles, multiples of the "
               "ratio, that cover the scene with as many tiles)")
  print(f"{method.name} on {h} x {w} PAN pixels, {pair.bands} bands, ratio {pair.ratio}: "
        f"{layout}; estimated peak memory {memory.format_bytes(plan.peak_bytes)} "
        f"(budget {memory.format_bytes(budget)}), estimated time {plan.seconds:.0f} s")
  with cli.deferred_signals():  # Ctrl-C stops between tiles / sampler calls, never in JAX
    summary = fuse.fuse_pair(pair, method, plan, args.output, overwrite=args.overwrite,
                             cog=args.cog, dtype=args.dtype, progress=not args.no_progress)
  print(f"wrote {', '.join(summary['outputs'])} in {summary['seconds']:.1f} s "
        f"(peak memory {memory.format_bytes(summary['peak_bytes'])})")
  if args.export_mat:
    export.export_geotiff_mat(args.export_mat, pair, args.output, method.sensor,
                              overwrite=args.overwrite)
    print(f"wrote {args.export_mat}")
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  sys.exit(main())
