"""Turns a full-resolution scene into PanCollection training/validation/full-resolution files.

  python -m srino_jax.data.make_dataset --mat scene.mat --sensor wv2 --out data/wv2 --patch 64
  python -m srino_jax.data.make_dataset --ms ms.tif --pan pan.tif --sensor wv3 --out data/wv3

Reduced resolution (Wald's protocol, as PanCollection's train/valid/test sets): the MS is
filtered with the sensor MTF and decimated, the PAN reduced by bicubic imresize
(`wald_degrade`), lms = interp23tap(reduced MS); the original MS is the ground truth "gt".
The whole scene is reduced and interpolated first, then cut into patches (patch borders then
carry no filter or wrap-around artefacts). The validation part is a band of rows at the
bottom of the scene, cut separately, so no validation patch overlaps a training patch.
Full resolution: lms = interp23tap(MS), no gt, cut into patches of the same PAN size.
A GeoTIFF pair is read as the scene tool reads it (`geotiff.read_geotiff_pair`): same CRS, an
integer ratio of the pixel sizes (which must be the sensor's), the overlap of the two grids.

Outputs (in --out): train_<sensor>.h5, valid_<sensor>.h5 (if --valid-fraction > 0) and
full_<sensor>.h5, in digital numbers, stored NCHW (see pancollection.py).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

import numpy as np

from srino_jax import cli
from srino_jax.data.pancollection import write_pancollection
from srino_jax.data.geotiff import read_geotiff_pair
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene
from srino_jax.errors import InputError, UsageError
from srino_jax.sensors import Sensor, get_sensor, sensor_names

__all__ = ["cut_patches", "patch_corners", "make_dataset", "output_paths", "main"]


def patch_corners(size: int, patch: int, stride: int, ratio: int) -> list[int]:
  """Corners 0, stride, ... of patches along one axis of length `size` (PAN grid).

  The last patch is moved flush with the end when the stride does not divide evenly, so the
  whole extent is covered; corners stay multiples of `ratio` (size and patch are).
  """
  if patch > size:
    return []
  corners = list(range(0, size - patch + 1, stride))
  last = (size - patch) // ratio * ratio
  if corners[-1] != last:
    corners.append(last)
  return corners


def cut_patches(case: dict[str, np.ndarray], patch: int, stride: int | None = None,
                ratio: int = 4) -> dict[str, np.ndarray]:
  """Cuts a scene-sized case into aligned patches.

  Args:
    case: dict of H x W x C arrays on the PAN grid (gt, lms, pan, ...) and "ms" on the MS grid
      (H/r x W/r x C).
    patch: PAN-grid patch side, a multiple of `ratio`.
    stride: PAN-grid step between patches, a multiple of `ratio` (default: `patch`).
    ratio: resolution ratio r.

  Returns:
    dict of (N, patch, patch, C) stacks ("ms": (N, patch/r, patch/r, C)), patches in
    row-major order; the MS patch of PAN corner (y, x) starts at (y/r, x/r).
  """
  stride = patch if stride is None else int(stride)
  if patch % ratio or stride % ratio or patch <= 0 or stride <= 0:
    raise ValueError(f"patch {patch} and stride {stride} must be positive multiples of the "
                     f"ratio {ratio}")
  h, w = case["pan"].shape[:2]
  ys, xs = patch_corners(h, patch, stride, ratio), patch_corners(w, patch, stride, ratio)
  if not ys or not xs:
    raise ValueError(f"scene PAN size {(h, w)} is smaller than the patch {patch}")
  out = {}
  m = patch // ratio
  for key, img in case.items():
    if key == "ms":
      crops = [img[y // ratio:y // ratio + m, x // ratio:x // ratio + m] for y in ys for x in xs]
    else:
      crops = [img[y:y + patch, x:x + patch] for y in ys for x in xs]
    out[key] = np.stack(crops)
  return out


def _split_rows(scene: dict, valid_fraction: float, patch: int, ratio: int
                ) -> tuple[dict, dict | None]:
  """Splits a full-resolution scene into top (train) and bottom (valid) parts.

  The bottom part has about `valid_fraction` of the MS rows, at least `patch` (its reduced
  PAN is on the MS grid, so it must hold one patch), a multiple of r so it can be reduced.
  """
  h = scene["ms"].shape[0]
  if valid_fraction <= 0:
    return scene, None
  rows = max(int(round(h * valid_fraction)), patch)
  rows = -(-rows // ratio) * ratio
  cut = h - rows
  if cut < patch:
    raise ValueError(f"scene of {h} MS rows too small for a {patch}-row training part and a "
                     f"{rows}-row validation part; lower --patch or --valid-fraction")
  top = {"ms": scene["ms"][:cut], "pan": scene["pan"][:cut * ratio]}
  bottom = {"ms": scene["ms"][cut:], "pan": scene["pan"][cut * ratio:]}
  return top, bottom


def output_paths(out_dir, sensor: str | Sensor, valid: bool = True) -> list[pathlib.Path]:
  """The files `make_dataset` writes: train_<s>.h5, [valid_<s>.h5,] full_<s>.h5."""
  name, out_dir = get_sensor(sensor).name.lower(), pathlib.Path(out_dir)
  splits = ("train", "valid", "full") if valid else ("train", "full")
  return [out_dir / f"{split}_{name}.h5" for split in splits]


def make_dataset(scene: dict, sensor: str | Sensor, out_dir, patch: int = 64,
                 stride: int | None = None, valid_fraction: float = 0.1,
                 overwrite: bool = False, progress: bool = True) -> dict[str, pathlib.Path]:
  """Writes reduced-resolution train/valid and full-resolution patch files for one scene.

  Args:
    scene: dict with "ms" (h, w, C) and "pan" (r h, r w, 1) in digital numbers.
    sensor: sensor name or `Sensor`.
    out_dir: output folder (created).
    patch: PAN-grid patch side of the written files (a multiple of r).
    stride: PAN-grid step between patches (default: `patch`, no overlap).
    valid_fraction: share of the scene's rows (at the bottom) kept for validation.
    overwrite: replace existing files.
    progress: show a tqdm progress bar.

  Returns:
    {"train": path, "valid": path (if any), "full": path}.
  """
  from tqdm.auto import tqdm

  sensor = get_sensor(sensor)
  r = sensor.ratio
  out_dir = pathlib.Path(out_dir)
  name = sensor.name.lower()
  # Wald needs MS sizes divisible by r: crop the scene's MS to a multiple of r.
  h, w = scene["ms"].shape[:2]
  scene = {"ms": scene["ms"][:h - h % r, :w - w % r],
           "pan": scene["pan"][:(h - h % r) * r, :(w - w % r) * r]}
  train_part, valid_part = _split_rows(scene, valid_fraction, patch, r)
  targets = [out_dir / f"{split}_{name}.h5" for split, part in
             (("train", train_part), ("valid", valid_part), ("full", scene)) if part is not None]
  existing = [str(t) for t in targets if t.exists()]
  if existing and not overwrite:  # fail before any work, not after the first file
    raise FileExistsError(f"{', '.join(existing)} exist(s); pass overwrite=True (--overwrite)")
  jobs = [("train", train_part, reduce_scene), ("valid", valid_part, reduce_scene),
          ("full", scene, lambda s, _sensor, ratio: full_scene(s, ratio))]
  paths = {}
  bar = tqdm(jobs, desc="make_dataset", disable=not progress, unit="file")
  for split, part, make_case in bar:
    if part is None:
      continue
    bar.set_postfix_str(split)
    case = make_case(part, sensor, ratio=r)
    try:
      patches = cut_patches(case, patch, stride, r)
    except ValueError as e:
      raise ValueError(f"{split} part of the scene: {e}") from None
    path = out_dir / f"{split}_{name}.h5"
    paths[split] = write_pancollection(
        path, patches, sensor, units="dn", overwrite=overwrite,
        extra={"source": "srino_jax.data.make_dataset", "split": split, "patch": patch,
               "stride": stride or patch})
  return paths


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser(
      prog="python -m srino_jax.data.make_dataset",
      description="Cut a full-resolution PAN + MS scene into PanCollection HDF5 files: "
                  "reduced-resolution train/valid patches (Wald protocol, with gt) and "
                  "full-resolution patches (no gt). Exit codes: 0 ok, 2 bad arguments, "
                  "3 bad input file, 5 output exists or not writable (see srino_jax.errors).")
  src = p.add_argument_group("input (either --mat, or --ms and --pan)")
  src.add_argument("--mat", help="MATLAB .mat scene with I_MS and I_PAN (toolbox layout)")
  src.add_argument("--ms", help="multispectral GeoTIFF (C bands, digital numbers)")
  src.add_argument("--pan", help="panchromatic GeoTIFF (1 band, ratio times the MS size)")
  p.add_argument("--sensor", required=True, type=str.upper,
                 help=f"sensor of the scene, sets band count, MTF gains and max value "
                      f"({', '.join(sensor_names())})")
  p.add_argument("--out", required=True, help="output folder for the .h5 files")
  p.add_argument("--patch", type=cli.positive_int, default=64,
                 help="PAN-grid patch side of the written files (multiple of the ratio, "
                      "default 64 like PanCollection)")
  p.add_argument("--stride", type=cli.positive_int, default=None,
                 help="PAN-grid step between patches (multiple of the ratio; default: the "
                      "patch size, i.e. no overlap)")
  p.add_argument("--valid-fraction", type=cli.unit_fraction, default=0.1,
                 help="share of the scene's rows, at the bottom, used for validation "
                      "(0 disables valid_<sensor>.h5; default 0.1)")
  p.add_argument("--overwrite", action="store_true", help="replace existing output files")
  p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
  return p


def _main(args: argparse.Namespace) -> int:
  # Arguments, outputs and inputs are checked before any filtering or writing.
  if bool(args.mat) == bool(args.ms or args.pan) or (not args.mat and not (args.ms and args.pan)):
    raise UsageError("give either --mat FILE, or both --ms and --pan",
                     f"See {build_parser().prog} --help.")
  if args.sensor not in sensor_names():
    raise UsageError(f"--sensor: unknown sensor {args.sensor!r}",
                     f"Use one of {', '.join(sensor_names())}.")
  sensor = get_sensor(args.sensor)
  r = sensor.ratio
  for flag, v in (("--patch", args.patch), ("--stride", args.stride)):
    if v is not None and v % r:
      raise UsageError(f"{flag} {v} is not a multiple of sensor {sensor.name}'s ratio {r}",
                       f"Use a multiple of {r}.")
  for path in output_paths(args.out, sensor, valid=args.valid_fraction > 0):
    cli.check_writable(path, args.overwrite)
  if args.mat:
    with cli.reading(args.mat):
      scene = read_mat_scene(args.mat)
  else:
    with cli.reading(args.pan):
      scene = read_geotiff_pair(args.pan, args.ms)
    if scene["ratio"] != sensor.ratio:
      raise InputError(f"{args.pan}: PAN/MS size ratio {scene['ratio']} differs from sensor "
                       f"{sensor.name}'s ratio {sensor.ratio}", "Check --sensor and the files.")
  try:
    paths = make_dataset(scene, sensor, args.out, patch=args.patch, stride=args.stride,
                         valid_fraction=args.valid_fraction, overwrite=args.overwrite,
                         progress=not args.no_progress)
  except ValueError as e:  # the scene is too small for the patch / validation part
    raise InputError(str(e), "Lower --patch or --valid-fraction, or use a larger scene.") from e
  for split, path in paths.items():
    print(f"{split}: {path}")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point; returns the exit status (`srino_jax.errors` codes)."""
  return cli.run(_main, build_parser(), argv)


if __name__ == "__main__":
  sys.exit(main())
