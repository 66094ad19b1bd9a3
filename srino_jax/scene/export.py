"""Fused scenes as .mat files for the MATLAB toolbox and DLPan's scripts.

Each file holds one scene with the toolbox's variable names, so that `load(file)` in
Demo_Full_Resolution.m / Demo_Reduced_Resolution.m (Vivone et al.'s toolbox and the
DLPan-Toolbox copy of it) finds its inputs and settings:

  I_MS_LR (h, w, C), I_MS (H, W, C, the interp23tap upsampled MS), I_PAN (H, W), I_GT
  (H, W, C, reduced resolution only): double, digital numbers;
  sensor (string), ratio, L (bits), Qblocks_size = 32, bicubic = 0, flag_cut_bounds = 0,
  dim_cut = 21, thvalues = 0, printEPS = 0 (the demos' settings block);
  I_SR (H, W, C) the fused image in digital numbers, and sr = I_SR / (2^L - 1), the
  [0, 1] layout of DLPan's result files (the demos read them as val_bit * double(sr)).
  With K > 1 SRINO samples, I_SR_std holds the per-pixel standard deviation (DN).

  python -m srino_jax.scene.export --input test_wv3_multiExm1.h5 --fused sr.h5 \\
      --sensor wv3 --output mat/wv3.mat          # one file per scene: wv3_1.mat, ...
  python -m srino_jax.scene.export --input scene.mat --reduce --method gsa --output gsa.mat

Errors are one line with the exit codes of `srino_jax.errors` (`srino_jax.cli`): 2 bad
arguments, 3 a missing or bad input (or a --fused of another size), 5 an output exists
(--overwrite) or cannot be written.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys

import numpy as np
import scipy.io

from srino_jax import cli
from srino_jax.atomic import atomic_output
from srino_jax.errors import InputError, UsageError
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["write_toolbox_mat", "scene_paths", "export_scenes", "export_geotiff_mat",
           "build_parser", "main"]


def _bits(sensor: Sensor) -> int:
  return int(math.log2(sensor.max_value + 1))


def write_toolbox_mat(path, ms_lr, lms, pan, fused, sensor: str | Sensor, ratio: int,
                      gt=None, std=None, overwrite: bool = False) -> pathlib.Path:
  """Writes one scene (digital numbers, HWC) in the toolbox's .mat layout (atomic).

  Raises:
    FileExistsError: `path` exists and not `overwrite`.
  """
  sensor = get_sensor(sensor)
  path = pathlib.Path(path)
  if path.exists() and not overwrite:
    raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
  f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
  fused = f64(fused)
  out = {"I_MS_LR": f64(ms_lr), "I_MS": f64(lms), "I_PAN": f64(pan).reshape(pan.shape[:2]),
         "I_SR": fused, "sr": fused / sensor.max_value, "sensor": sensor.name,
         "ratio": float(ratio), "L": float(_bits(sensor)), "Qblocks_size": 32.0,
         "bicubic": 0.0, "flag_cut_bounds": 0.0, "dim_cut": 21.0, "thvalues": 0.0,
         "printEPS": 0.0}
  if gt is not None:
    out["I_GT"] = f64(gt)
  if std is not None:
    out["I_SR_std"] = f64(std)
  with atomic_output(path, overwrite) as tmp:
    scipy.io.savemat(tmp, out, do_compression=True)
  return path


def scene_paths(path, n: int) -> list[pathlib.Path]:
  """The files of N scenes: `path` itself for N = 1, else `<stem>_<i>.mat` with i = 1 .. N."""
  path = pathlib.Path(path)
  return [path] if n == 1 else [path.with_name(f"{path.stem}_{i + 1}.mat") for i in range(n)]


def export_scenes(path, data: dict, fused, sensor, ratio: int, std=None,
                  overwrite: bool = False) -> list[pathlib.Path]:
  """Writes N scenes: `path` itself for N = 1, else `<stem>_<i>.mat` with i = 1 .. N.

  Args:
    data: NHWC digital numbers: ms (N, h, w, C), lms, pan (N, H, W, 1), gt when known.
    fused, std: (N, H, W, C) digital numbers.
  """
  paths = scene_paths(path, len(fused))
  for i, p in enumerate(paths):
    write_toolbox_mat(p, data["ms"][i], data["lms"][i], data["pan"][i], fused[i], sensor,
                      ratio, gt=data["gt"][i] if "gt" in data else None,
                      std=None if std is None else std[i], overwrite=overwrite)
  return paths


def export_geotiff_mat(path, pair, fused_tif, sensor, overwrite: bool = False):
  """The .mat of a fused GeoTIFF pair (reads the whole scene: meant for cross-checks)."""
  import rasterio
  from srino_jax.data.geotiff import read_whole
  from srino_jax.toolbox.interp import interp23tap
  ms, pan = read_whole(pair)
  with rasterio.open(fused_tif) as f:
    fused = np.moveaxis(f.read(out_dtype=np.float64), 0, -1)
  return write_toolbox_mat(path, ms, interp23tap(ms, pair.ratio), pan, fused, sensor,
                           pair.ratio, overwrite=overwrite)


def _read_fused(path, key: str, scale: float = 1.0) -> np.ndarray:
  """(N, H, W, C) from an .h5 written by sample.py (key `sr`, N x C x H x W, DN)."""
  import h5py
  with h5py.File(path, "r") as f:
    if key not in f:
      raise ValueError(f"{path}: no dataset '{key}' (found {sorted(f)})")
    return np.moveaxis(np.asarray(f[key], np.float64), 1, -1) * scale


def build_parser() -> argparse.ArgumentParser:
  """The command line (the common error style of `srino_jax.cli`: --debug, exit codes)."""
  p = cli.make_parser("python -m srino_jax.scene.export", __doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--input", required=True, help="PanCollection .h5 or toolbox .mat scene(s)")
  p.add_argument("--sensor", required=True, help="sensor of the input (scale, MTF gains)")
  how = p.add_mutually_exclusive_group(required=True)
  how.add_argument("--fused", help=".h5 from sample.py (dataset --key, DN, N x C x H x W)")
  how.add_argument("--method", help="fuse with this classical baseline instead")
  p.add_argument("--key", default="sr", help="dataset of --fused (default sr; sr_std is "
                 "exported too when present)")
  p.add_argument("--reduce", action="store_true", help=".mat input: its Wald reduction")
  p.add_argument("--output", required=True, help=".mat (several scenes: <stem>_<i>.mat)")
  p.add_argument("--overwrite", action="store_true", help="replace existing files")
  return p


def _main(args) -> int:
  from srino_jax import baselines  # local: the heavier readers
  from srino_jax.data.inputs import read_input
  # Arguments first, then the inputs, then the outputs: nothing is fused or written before.
  sensor = cli.sensor_arg(args.sensor)
  if args.method:
    try:
      baselines.method_key(args.method)
    except ValueError as e:
      raise UsageError(f"--method: {e}") from None
  with cli.reading(args.input):
    units, sensor = read_input(args.input, sensor, reduce=args.reduce)  # a .mat's own L
    data = {k: sensor.to_dn(v) for k, v in units.items()}
  std = None
  if args.fused:
    with cli.reading(args.fused):
      fused = _read_fused(args.fused, args.key)
      try:
        std = _read_fused(args.fused, f"{args.key}_std")
      except ValueError:  # no std: a single sample
        pass
    if fused.shape != data["lms"].shape:
      raise InputError(f"{args.fused}: fused {fused.shape} does not match the input's "
                       f"{data['lms'].shape}", "Give the output of sample.py for this input.",
                       file=args.fused)
  for path in scene_paths(args.output, len(data["lms"])):
    cli.check_writable(path, args.overwrite)
  if not args.fused:
    fused = np.stack([baselines.fuse(args.method, ms, pan, sensor, sensor.ratio)
                      for ms, pan in zip(data["ms"], data["pan"])])
  paths = export_scenes(args.output, data, fused, sensor, sensor.ratio, std,
                        overwrite=args.overwrite)
  print(f"wrote {len(paths)} file(s): {paths[0]}" + (" ..." if len(paths) > 1 else ""))
  return 0


def main(argv=None) -> int:
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  sys.exit(main())
