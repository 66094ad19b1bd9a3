"""Scores classical baselines (and fused outputs such as SRINO's) on a PanCollection file.

  python -m srino_jax.evaluate --input test_wv3_multiExm1.h5 --sensor wv3 \\
      --methods exp,gsa,mtf-glp-hpm --fused srino_sr.h5 --fused-name SRINO --json scores.json

Reduced-resolution indices (PSNR, SAM, ERGAS, SCC, Q2n) when the file has `gt`, otherwise
full-resolution ones (D_lambda_K, D_s, HQNR), with the toolbox's conventions
(`srino_jax.metrics`). The table has one row per method and "mean ± std" over scenes.
Library use: `load_scenes`, `load_fused`, `evaluate_methods` -> rows, `format_table(rows)`.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from typing import Any, Mapping, Sequence

import numpy as np

from srino_jax.baselines import available_methods, fuse
from srino_jax.data.pancollection import SCALED_MAX, PanCollectionFile
from srino_jax.metrics import format_table, make_row, rows_to_csv, rows_to_json, score_stack
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["load_scenes", "load_fused", "evaluate_methods", "main"]


def _read_dn(path, keys: Sequence[str], sensor: Sensor, limit: int | None
             ) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads datasets as NHWC float64 digital numbers (the toolbox computes in double).

  The indices round Q2n inputs to uint16, so values are kept in float64 as stored rather
  than going through float32 model units. A file whose maximum is <= 1.5 is taken as
  already divided by the sensor max and multiplied back (reported in the returned notes).
  Validation (missing file or key, shapes, bands, NaN/Inf) is `PanCollectionFile`'s.
  """
  with PanCollectionFile(path, sensor, scale=1.0, dtype=np.float64) as f:
    missing = [k for k in keys if k not in f.keys and k != "gt"]
    if missing:
      raise ValueError(f"{f.path}: missing key(s) {missing}; present: {list(f.keys)}")
    n = f.num_examples if limit is None else min(int(limit), f.num_examples)
    data = f.read(slice(0, n), keys=[k for k in keys if k in f.keys])
  notes = []
  vmax = max(float(v.max()) for v in data.values())
  if vmax <= SCALED_MAX:
    for k in data:
      data[k] *= sensor.max_value
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
    raise ValueError(f"{path}: key 'sr' holds {sr.shape[0]} images, the input has {n}")
  if sr.shape[1:3] != (h, w):
    raise ValueError(f"{path}: key 'sr' images are {sr.shape[1]} x {sr.shape[2]}, the input's "
                     f"are {h} x {w}")
  return sr, notes


def evaluate_methods(scenes: Mapping[str, np.ndarray], sensor: str | Sensor,
                     methods: Sequence[str] = (), fused: Mapping[str, np.ndarray] | None = None,
                     dim_cut: int = 0, clip: bool = False, block_size: int = 32,
                     log=None) -> list[dict[str, Any]]:
  """Runs baselines on every scene, scores them and any given fused stacks.

  Args:
    scenes: from `load_scenes` (digital numbers); reduced resolution if it has "gt".
    sensor: sensor name or `Sensor`.
    methods: baseline names (`srino_jax.baselines.available_methods()`).
    fused: row name -> (N, H, W, C) fused stack in digital numbers (e.g. {"SRINO": sr}).
    dim_cut, clip, block_size: as in `srino_jax.metrics.score_stack`.
    log: optional callable(str) for progress lines.

  Returns:
    table rows (`srino_jax.metrics.make_row`), baselines first in the given order;
    a baseline row's "seconds" is its mean fusion time per scene.
  """
  sensor = get_sensor(sensor)
  kind = "reduced" if "gt" in scenes else "full"
  n = scenes["lms"].shape[0]
  known = available_methods()
  for m in methods:
    if m.lower().replace("_", "-") not in known:
      raise ValueError(f"unknown method {m!r}; available: {', '.join(known)}")

  def score(stack):
    if kind == "reduced":
      return score_stack("reduced", stack, sensor=sensor, gt=scenes["gt"], ratio=sensor.ratio,
                         dim_cut=dim_cut, clip=clip, block_size=block_size)
    return score_stack("full", stack, sensor=sensor, ms_lr=scenes["ms"], pan=scenes["pan"],
                       lms=scenes["lms"], ratio=sensor.ratio, dim_cut=dim_cut, clip=clip,
                       block_size=block_size)

  rows = []
  for m in methods:
    start = time.perf_counter()
    stack = np.stack([fuse(m, scenes["ms"][i], scenes["pan"][i], sensor, sensor.ratio)
                      for i in range(n)])
    seconds = (time.perf_counter() - start) / n
    rows.append(make_row(m.upper(), score(stack), seconds, sensor.bands))
    if log:
      log(f"  {m.upper()}: fused {n} scenes in {seconds:.3f} s each")
  for name, stack in (fused or {}).items():
    rows.append(make_row(name, score(np.asarray(stack)[:n]), None, sensor.bands))
  return rows


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="python -m srino_jax.evaluate",
      description="Score pan-sharpening baselines and fused outputs on a PanCollection h5 file "
                  "with the toolbox's quality indices (reduced resolution if the file has 'gt', "
                  "full resolution otherwise). Prints one row per method, 'mean ± std' over "
                  "scenes.")
  p.add_argument("--input", required=True,
                 help="PanCollection h5 file (keys ms, lms, pan and, at reduced resolution, gt; "
                      "N x C x H x W digital numbers; a file already divided by the sensor max "
                      "is detected and rescaled)")
  p.add_argument("--sensor", required=True,
                 help="sensor name (wv3, wv2, qb, gf2, ikonos): bands, max value, MTF gains")
  p.add_argument("--methods", default="exp,gsa,mtf-glp-hpm",
                 help="comma-separated baselines to run, '' for none, 'all' for every one "
                      f"(default exp,gsa,mtf-glp-hpm; available: {', '.join(available_methods())})")
  p.add_argument("--fused", action="append", default=[], metavar="OUT.h5",
                 help="h5 file with key 'sr' (N x C x H x W digital numbers) to score as one "
                      "more row; repeatable")
  p.add_argument("--fused-name", action="append", default=[], metavar="NAME",
                 help="row name of the matching --fused file (default: the file's stem)")
  p.add_argument("--csv", help="also write the table (mean, std per index) to this CSV file")
  p.add_argument("--json", help="also write rows with per-scene values to this JSON file")
  p.add_argument("--dim-cut", type=int, default=0,
                 help="the toolbox's border cut (its scripts use 21); default 0 = none")
  p.add_argument("--clip", action="store_true",
                 help="clip fused images to [0, 2^bits] first (the toolbox's th_values)")
  p.add_argument("--limit", type=int, help="score only the first N scenes")
  return p


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point; returns the exit status (2 for bad input files)."""
  parser = _parser()
  args = parser.parse_args(argv)
  if len(args.fused_name) > len(args.fused):
    parser.error("more --fused-name than --fused options")
  if args.limit is not None and args.limit < 1:
    parser.error("--limit must be at least 1")
  if args.dim_cut < 0:
    parser.error("--dim-cut must be >= 0")
  try:
    return _run(args)
  except (ValueError, FileNotFoundError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
  sensor = get_sensor(args.sensor)
  methods = [m.strip() for m in args.methods.split(",") if m.strip()]
  if methods == ["all"]:
    methods = available_methods()
  scenes, notes = load_scenes(args.input, sensor, args.limit)
  fused = {}
  for i, path in enumerate(args.fused):
    name = args.fused_name[i] if i < len(args.fused_name) else pathlib.Path(path).stem
    if name in fused:
      raise ValueError(f"two --fused rows are named {name!r}; give them --fused-name")
    fused[name], more = load_fused(path, sensor, scenes)
    notes += more
  for note in notes:
    print(f"note: {note}")
  kind = "reduced" if "gt" in scenes else "full"
  n = scenes["lms"].shape[0]
  rows = evaluate_methods(scenes, sensor, methods, fused, args.dim_cut, args.clip, log=print)
  title = (f"{'Reduced' if kind == 'reduced' else 'Full'} resolution, {sensor.name}, {n} scenes "
           f"of {pathlib.Path(args.input).name} (dim_cut={args.dim_cut}, clip={args.clip})")
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
