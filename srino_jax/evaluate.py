"""Scores classical baselines (and fused outputs such as SRINO's) on a PanCollection file.

  python -m srino_jax.evaluate --input test_wv3_multiExm1.h5 --sensor wv3 \\
      --methods exp,gsa,mtf-glp-hpm --fused srino_sr.h5 --fused-name SRINO --json scores.json

Reduced-resolution indices (PSNR, SAM, ERGAS, SCC, Q2n) when the file has `gt`, otherwise
full-resolution ones (D_lambda_K, D_s, HQNR), with the toolbox's conventions
(`srino_jax.metrics`). The table has one row per method and "mean ± std" over scenes.
Library use: `load_scenes`, `load_fused`, `evaluate_methods` -> rows, `format_table(rows)`
(`evaluate_methods` lives in `srino_jax.metrics.compare`, re-exported here).
Errors and exit codes follow `srino_jax.cli` / `srino_jax.errors`.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
from typing import Mapping, Sequence

import numpy as np

from srino_jax import cli
from srino_jax.baselines import available_methods, unknown_methods
from srino_jax.data.pancollection import SCALED_MAX, PanCollectionFile, detect_scale
from srino_jax.errors import InputError, UsageError
from srino_jax.metrics import evaluate_methods, format_table, rows_to_csv, rows_to_json
from srino_jax.sensors import Sensor, get_sensor, sensor_names

__all__ = ["load_scenes", "load_fused", "evaluate_methods", "main"]


def _read_dn(path, keys: Sequence[str], sensor: Sensor, limit: int | None
             ) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads datasets as NHWC float64 digital numbers (the toolbox computes in double).

  The indices round Q2n inputs to uint16, so values are kept in float64 as stored rather
  than going through float32 model units. Keys whose maxima are all <= 1.5 are taken as
  already divided by the sensor max and multiplied back (reported in the returned notes);
  keys that disagree are refused (`detect_scale`, which also warns about data far darker
  than the sensor's bit depth). Validation (missing file or key, shapes, bands, NaN/Inf) is
  `PanCollectionFile`'s.
  """
  with PanCollectionFile(path, sensor, scale=1.0, dtype=np.float64) as f:
    missing = [k for k in keys if k not in f.keys and k != "gt"]
    if missing:
      raise InputError(f"{f.path}: missing key(s) {missing}; present: {list(f.keys)}",
                       "Give a file with these datasets.")
    n = f.num_examples if limit is None else min(int(limit), f.num_examples)
    data = f.read(slice(0, n), keys=[k for k in keys if k in f.keys])
  notes = []
  info = detect_scale({k: float(v.max()) for k, v in data.items()}, sensor, path)
  if info.already_scaled:
    vmax = max(info.maxima.values())
    for k in data:
      data[k] = sensor.to_dn(data[k])
    notes.append(f"{pathlib.Path(path).name}: maximum {vmax:.4g} <= {SCALED_MAX}, values "
                 f"taken as divided by the sensor max and multiplied by {sensor.max_value:g}")
  return data, notes


def load_scenes(path, sensor: str | Sensor, limit: int | None = None
                ) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads a PanCollection test file in digital numbers.

  Args:
    path: HDF5 file with ms, lms, pan and optionally gt (NCHW digital numbers).
    sensor: sensor name or `Sensor`.
    limit: read only the first `limit` scenes.

  Returns:
    ({"ms": (N, h, w, C), "lms": (N, H, W, C), "pan": (N, H, W, 1), ["gt": (N, H, W, C)]}
     float64 digital numbers, notes about rescaling).
  """
  return _read_dn(path, ("gt", "ms", "lms", "pan"), get_sensor(sensor), limit)


def load_fused(path, sensor: str | Sensor, like: Mapping[str, np.ndarray]
               ) -> tuple[np.ndarray, list[str]]:
  """Reads a fused-output file (key `sr`, N x C x H x W digital numbers) matching `like`.

  Args:
    path: HDF5 file with `sr`.
    sensor: sensor name or `Sensor`.
    like: the scenes from `load_scenes`; the first len(scenes) fused images are used.

  Returns:
    ((N, H, W, C) float64 digital numbers, notes).
  """
  sensor = get_sensor(sensor)
  n, h, w = like["lms"].shape[:3]
  data, notes = _read_dn(path, ("sr",), sensor, n)
  sr = data["sr"]
  if sr.shape[0] < n:
    raise InputError(f"{path}: key 'sr' holds {sr.shape[0]} images, the input has {n}",
                     "Give the fused output of this input file (or use --limit).")
  if sr.shape[1:3] != (h, w):
    raise InputError(f"{path}: key 'sr' images are {sr.shape[1]} x {sr.shape[2]}, the "
                     f"input's are {h} x {w}", "Give the fused output of this input file.")
  return sr, notes


def _parser() -> argparse.ArgumentParser:
  p = cli.make_parser(
      prog="python -m srino_jax.evaluate",
      description="Score pan-sharpening baselines and fused outputs on a PanCollection h5 file "
                  "with the toolbox's quality indices (reduced resolution if the file has 'gt', "
                  "full resolution otherwise). Prints one row per method, 'mean ± std' over "
                  "scenes. Exit codes: 0 ok, 2 bad arguments, 3 bad input file, 5 output "
                  "not writable (see srino_jax.errors).")
  p.add_argument("--input", required=True,
                 help="PanCollection h5 file (keys ms, lms, pan and, at reduced resolution, gt; "
                      "N x C x H x W digital numbers; a file already divided by the sensor max "
                      "is detected and rescaled)")
  p.add_argument("--sensor", required=True,
                 help=f"sensor name ({', '.join(sensor_names()).lower()}): bands, max value, "
                      "MTF gains")
  p.add_argument("--bits", type=cli.bit_depth, default=None,
                 help="bit depth of the data when it differs from the sensor's (e.g. 8 for "
                      "data up to 255): sets the max value 2^bits - 1 used for scaling and "
                      "clipping (default: the sensor's)")
  p.add_argument("--methods", default="exp,gsa,mtf-glp-hpm",
                 help="comma-separated baselines to run, '' for none, 'all' for every one "
                      f"(default exp,gsa,mtf-glp-hpm; available: {', '.join(available_methods())})")
  p.add_argument("--fused", action="append", default=[], metavar="OUT.h5",
                 help="h5 file with key 'sr' (N x C x H x W digital numbers) to score as one "
                      "more row; repeatable")
  p.add_argument("--fused-name", action="append", default=[], metavar="NAME",
                 help="row name of the matching --fused file (default: the file's stem)")
  p.add_argument("--csv", help="also write the table (mean, std per index) to this CSV file "
                               "(refused if it exists, unless --overwrite)")
  p.add_argument("--json", help="also write rows with per-scene values to this JSON file "
                                "(refused if it exists, unless --overwrite)")
  p.add_argument("--overwrite", action="store_true",
                 help="replace existing --csv / --json files")
  p.add_argument("--dim-cut", type=cli.nonnegative_int, default=0,
                 help="the toolbox's border cut (its scripts use 21); default 0 = none")
  p.add_argument("--clip", action="store_true",
                 help="clip fused images to [0, 2^bits] first (the toolbox's th_values)")
  p.add_argument("--limit", type=cli.positive_int, help="score only the first N scenes")
  return p


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point; returns the exit status (`srino_jax.errors` codes)."""
  return cli.run(_run, _parser(), argv)


def _sensor(name: str, bits: int | None) -> Sensor:
  sensor = cli.sensor_arg(name)
  if bits is not None:  # the data's bit depth, when not the sensor's
    sensor = dataclasses.replace(sensor, max_value=float(2 ** bits - 1))
  return sensor


def _run(args: argparse.Namespace) -> int:
  # Everything cheap first: arguments, outputs, then the inputs (before any fusion).
  if len(args.fused_name) > len(args.fused):
    raise UsageError("more --fused-name than --fused options", "Give one name per --fused.")
  sensor = _sensor(args.sensor, args.bits)
  methods = [m.strip() for m in args.methods.split(",") if m.strip()]
  if methods == ["all"]:
    methods = available_methods()
  unknown = unknown_methods(methods)
  if unknown:
    raise UsageError(f"--methods: unknown method(s) {', '.join(unknown)}",
                     f"Choose among {', '.join(available_methods())}, or 'all'.")
  outputs = [o for o in (args.csv, args.json) if o]
  if len(set(map(str, outputs))) < len(outputs):
    raise UsageError("--csv and --json name the same file", "Give two different files.")
  for out in outputs:
    cli.check_writable(out, args.overwrite)
  with cli.reading(args.input):
    scenes, notes = load_scenes(args.input, sensor, args.limit)
  fused = {}
  for i, path in enumerate(args.fused):
    name = args.fused_name[i] if i < len(args.fused_name) else pathlib.Path(path).stem
    if name in fused:
      raise UsageError(f"two --fused rows are named {name!r}", "Give them --fused-name.")
    with cli.reading(path):
      fused[name], more = load_fused(path, sensor, scenes)
    notes += more
  for note in notes:
    print(f"note: {note}")
  kind = "reduced" if "gt" in scenes else "full"
  n = scenes["lms"].shape[0]
  one = {k: v[:1] for k, v in scenes.items()}
  try:  # the indices on the first scene's upsampled MS, before any (slow) fusion
    evaluate_methods(one, sensor, (), {"check": one["lms"]}, args.dim_cut, args.clip)
  except ValueError as err:
    h, w = scenes["pan"].shape[1:3]
    raise InputError(f"{args.input}: {h} x {w} scenes are too small for the indices ({err})",
                     "Give larger scenes, or a smaller --dim-cut.") from None
  rows = evaluate_methods(scenes, sensor, methods, fused, args.dim_cut, args.clip, log=print)
  title = (f"{'Reduced' if kind == 'reduced' else 'Full'} resolution, {sensor.name}, {n} scenes "
           f"of {pathlib.Path(args.input).name}")  # the protocol: the table's last line
  print(format_table(rows, title=title))
  meta = {"input": str(args.input), "sensor": sensor.name, "kind": kind, "n": n,
          "dim_cut": args.dim_cut, "clip": args.clip, "notes": notes}
  if args.csv:
    rows_to_csv(rows, args.csv)
  if args.json:
    rows_to_json(rows, args.json, meta)
  return 0


if __name__ == "__main__":
  sys.exit(main())
