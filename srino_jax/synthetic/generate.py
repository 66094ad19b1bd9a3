"""Synthetic satellite scenes and PanCollection-style datasets made from them.

A scene is rendered at the PAN resolution and taken as the ideal high-resolution MS (the
truth): fields (rotated parcels, per-field crop and row texture, hedges), an urban grid
(roads, sidewalks, buildings with gable roofs and cast shadows, yards), woodland (tree
crowns with sunlit and shaded sides), water (lakes, rivers: smooth, dark in NIR) and straight
roads. Each pixel's spectrum mixes a few material reflectance spectra sampled at the
sensor's band centres (vegetation with its red edge, soil, water, asphalt, concrete, roofs),
scaled by illumination, shadow (bluish skylight) and haze, so the bands correlate as in real
data. Observations follow the sensor: MS = MTF filter + decimation of the truth
(`mtf_filter`, pixels [r/2::r]); PAN = band sum with a broad visible-NIR response at full
resolution; both with sensor noise, rounded to digital numbers. Datasets then apply Wald's
protocol (`reduce_scene`) exactly as for real scenes.

  python -m srino_jax.synthetic --sensor wv3 --out data/synthetic
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
from collections.abc import Sequence

import numpy as np

from srino_jax import cli
from srino_jax.errors import UsageError
from srino_jax.synthetic.landcover import MATERIAL_NAMES, render_cover
from srino_jax.data.make_dataset import cut_patches
from srino_jax.toolbox.mtf import mtf_kernel
from srino_jax.data.pancollection import write_pancollection
from srino_jax.data.products import full_scene, reduce_scene
from srino_jax.sensors import Sensor, get_sensor, sensor_names

__all__ = ["MATERIALS", "SyntheticScene", "band_centres", "material_spectra", "pan_weights",
           "synthesize_scene", "dataset_paths", "make_synthetic_dataset", "main"]

# Reflectance (0..1) at these wavelengths (nm): typical library shapes, not fitted to data.
_KNOTS = np.array([400, 450, 500, 550, 600, 650, 680, 700, 720, 750, 800, 850, 900, 1000.0])
MATERIALS = {
    "vegetation": [.03, .035, .045, .09, .06, .04, .035, .08, .22, .40, .45, .46, .46, .44],
    "dry_vegetation": [.05, .06, .08, .12, .16, .19, .20, .22, .25, .28, .31, .33, .34, .35],
    "soil": [.06, .08, .10, .13, .17, .20, .21, .22, .23, .25, .27, .29, .30, .32],
    "water": [.045, .05, .045, .04, .03, .02, .015, .012, .01, .008, .006, .005, .004, .003],
    "turbid_water": [.05, .06, .07, .075, .06, .045, .035, .03, .025, .015, .01, .007, .005, .004],
    "asphalt": [.06, .07, .075, .08, .085, .09, .09, .095, .095, .10, .10, .105, .11, .11],
    "concrete": [.20, .25, .28, .30, .31, .32, .32, .33, .33, .34, .34, .35, .35, .35],
    "red_roof": [.06, .07, .08, .10, .20, .30, .33, .35, .37, .39, .40, .41, .42, .42],
    "metal_roof": [.40, .45, .47, .48, .48, .48, .48, .48, .47, .47, .46, .45, .44, .42],
    "dark_roof": [.05, .06, .06, .065, .07, .07, .07, .075, .075, .08, .08, .085, .085, .09],
}
_NAMES = MATERIAL_NAMES  # the abundance columns of render_cover
# Band centres (nm): WorldView-2/3 (8 bands), QuickBird/GF-2/IKONOS-like (4 bands).
_CENTRES = {8: (427, 478, 546, 608, 659, 724, 833, 949), 4: (485, 560, 660, 830),
            3: (480, 550, 660)}
# PAN spectral response (a broad visible-NIR band, about 450-900 nm at half maximum).
_PAN_KNOTS = ([400, 450, 500, 800, 900, 1000], [0.0, 0.5, 1.0, 1.0, 0.5, 0.0])


def band_centres(sensor: str | Sensor) -> np.ndarray:
  """(C,) band centre wavelengths in nm (evenly spread over 450-900 for unknown layouts)."""
  c = get_sensor(sensor).bands
  return np.asarray(_CENTRES.get(c, np.linspace(450, 900, c)), np.float64)


def material_spectra(sensor: str | Sensor) -> np.ndarray:
  """(M, C) reflectances of `MATERIALS` interpolated at the sensor's band centres."""
  lam = band_centres(sensor)
  return np.stack([np.interp(lam, _KNOTS, MATERIALS[m]) for m in _NAMES])


def pan_weights(sensor: str | Sensor) -> np.ndarray:
  """(C,) PAN weights (sum 1): the broad PAN response at the band centres."""
  w = np.interp(band_centres(sensor), *_PAN_KNOTS)
  return w / w.sum()


@dataclasses.dataclass
class SyntheticScene:
  """One synthetic scene, digital numbers.

  Attributes:
    truth: (H, W, C) float32, the ideal MS at PAN resolution (no noise; a band-first
      array's view).
    ms: (H/r, W/r, C) float64, observed MS (MTF + decimation + noise, rounded).
    pan: (H, W, 1) float64, observed PAN (weighted band sum + noise, rounded).
    abundance: (H, W, M) float32 material fractions (order of `MATERIALS`) or None.
  """

  truth: np.ndarray
  ms: np.ndarray
  pan: np.ndarray
  abundance: np.ndarray | None = None


@functools.lru_cache(maxsize=16)
def _separable_mtf(sensor: Sensor, ratio: int, taps: int) -> tuple[np.ndarray, np.ndarray]:
  """Rank-one factors (2 taps + 1, C) float32 (y and x) of the genMTF kernels."""
  kern = mtf_kernel(sensor, ratio)
  c0 = kern.shape[0] // 2
  fy = np.empty((2 * taps + 1, sensor.bands), np.float32)
  fx = np.empty_like(fy)
  for b in range(sensor.bands):
    u, sv, vt = np.linalg.svd(kern[..., b])
    # Orient both factors positive at the centre (the SVD's sign is arbitrary).
    fy[:, b] = u[c0 - taps:c0 + taps + 1, 0] * np.sqrt(sv[0]) * np.sign(u[c0, 0])
    fx[:, b] = vt[0, c0 - taps:c0 + taps + 1] * np.sqrt(sv[0]) * np.sign(vt[0, c0])
  return fy, fx


def _mtf_decimate(img: np.ndarray, sensor: Sensor, ratio: int, taps: int = 12) -> np.ndarray:
  """decimate(mtf_filter(img)) computed separably, at the kept pixels only.

  The toolbox's genMTF kernels are rank one to ~1e-5 (a windowed Gaussian), and their taps
  beyond +-12 pixels hold < 1e-8 of the mass, so filtering columns then rows with the
  rank-one factors, evaluated only at the pixels [r/2::r] that the decimation keeps, gives
  the same MS (to ~1e-5 relative) about 10x faster than the 2-D FFT filter.

  Args:
    img: (C, H, W) float32 image (band-first).
    sensor, ratio: as in `mtf_filter`.
    taps: half-length of the 1-D filters.

  Returns:
    (C, H/r, W/r) float32.
  """
  fy, fx = _separable_mtf(get_sensor(sensor), ratio, taps)
  c, h, w = img.shape
  off = ratio // 2
  pad = np.pad(img, ((0, 0), (taps, taps), (taps, taps)), mode="edge")  # replicate borders
  rows = np.zeros((c, h // ratio, w + 2 * taps), np.float32)
  out = np.zeros((c, h // ratio, w // ratio), np.float32)
  for t in range(2 * taps + 1):  # correlation along y, at the kept rows only
    rows += fy[t][:, None, None] * pad[:, off + t:off + t + h:ratio]
  for t in range(2 * taps + 1):  # then along x, at the kept columns only
    out += fx[t][:, None, None] * rows[:, :, off + t:off + t + w:ratio]
  return out


def synthesize_scene(rng: np.random.Generator, sensor: str | Sensor, size: int | tuple[int, int],
                     keep_abundance: bool = False) -> SyntheticScene:
  """Renders one scene and observes it as the sensor would.

  Args:
    rng: seeded NumPy generator (the only randomness used).
    sensor: sensor name or `Sensor` (bands, max value, MTF gains, ratio).
    size: PAN-grid size H (or (H, W)), multiples of the ratio.
    keep_abundance: also return the (H, W, M) material fractions.

  Returns:
    `SyntheticScene` with truth (H, W, C), ms (H/r, W/r, C), pan (H, W, 1) in digital numbers.
  """
  sensor = get_sensor(sensor)
  h, w = (size, size) if np.isscalar(size) else size
  r = sensor.ratio
  if h % r or w % r:
    raise ValueError(f"scene size {(h, w)} must be a multiple of the ratio {r}")
  # Spectra of the C bands (sampled at the band centres) plus the PAN (the reflectance
  # integrated over its broad response), so the PAN is close to, not exactly, a band mix.
  lam = np.append(band_centres(sensor), 620.0)
  fine = np.linspace(400, 1000, 121)
  resp = np.interp(fine, *_PAN_KNOTS)
  pan_refl = [np.sum(np.interp(fine, _KNOTS, MATERIALS[k]) * resp) / resp.sum() for k in _NAMES]
  spectra = np.concatenate([material_spectra(sensor), np.array(pan_refl)[:, None]], 1)
  abund, light, tilt, shadow = render_cover(rng, h, w)
  # Band-first (C+1, H*W) layout: every per-band operation below runs on contiguous rows.
  refl = spectra.T.astype(np.float32) @ abund  # linear mixing of the material spectra
  refl *= light  # illumination, albedo, roof and crown shading
  on = np.flatnonzero(tilt)  # per-field spectral tilt (crop variety, moisture)
  refl[:, on] *= 1 + ((lam - 650.0) / 400.0).astype(np.float32)[:, None] * tilt[on]
  sky = np.clip(0.3 * (480.0 / lam) ** 2, 0.05, 0.4).astype(np.float32)
  refl[:, np.flatnonzero(shadow)] *= sky[:, None]  # cast shadow: only bluish skylight left
  gain = rng.uniform(1.0, 1.4)
  haze = rng.uniform(0.02, 0.07) * (480.0 / lam) ** 2  # path radiance, larger in the blue
  dn = refl.reshape(-1, h, w)
  dn *= np.float32(sensor.max_value * gain)
  dn += (sensor.max_value * haze).astype(np.float32)[:, None, None]
  np.clip(dn, 0, sensor.max_value, out=dn)
  # The PAN's own optics (MTF_PAN): a 3-tap [a, 1 - 2a, a] blur each way whose response at
  # the PAN Nyquist frequency, 1 - 4a, is the sensor's PAN gain. The MS gets its MTF below.
  a = np.float32((1.0 - sensor.pan_gain) / 4.0)
  pan = dn[-1]
  for axis in (0, 1):
    src = np.moveaxis(pan, axis, 0)
    out = src * (1 - 2 * a)
    out[1:] += a * src[:-1]
    out[:-1] += a * src[1:]
    out[0] += a * src[0]  # replicate borders
    out[-1] += a * src[-1]
    pan = np.moveaxis(out, 0, axis)

  def observe(img):  # sensor noise (read + shot), then digital numbers
    img = img.astype(np.float64)
    std = 0.0015 * sensor.max_value + 0.004 * img
    return np.clip(np.round(img + std * rng.standard_normal(img.shape)), 0, sensor.max_value)

  ms = observe(np.moveaxis(_mtf_decimate(dn[:-1], sensor, r), 0, -1))
  pan = observe(pan)[..., None]
  ab = abund.T.reshape(h, w, -1) if keep_abundance else None
  return SyntheticScene(truth=np.moveaxis(dn[:-1], 0, -1), ms=ms, pan=pan, abundance=ab)


SPLITS = {"train": 0, "valid": 1, "test": 2, "test_full": 3}  # independent random streams


def dataset_paths(out_dir, sensor: str | Sensor) -> dict[str, pathlib.Path]:
  """PanCollection-style file names for `sensor` in `out_dir`."""
  name, out_dir = get_sensor(sensor).name.lower(), pathlib.Path(out_dir)
  return {"train": out_dir / f"train_{name}.h5", "valid": out_dir / f"valid_{name}.h5",
          "test": out_dir / f"test_{name}_multiExm1.h5",
          "test_full": out_dir / f"test_{name}_OrigScale_multiExm1.h5"}


def _scene(seed: int, split: str, index: int, sensor: Sensor, size: int) -> dict:
  """Scene `index` of `split`: its own generator, so any scene can be made alone."""
  sc = synthesize_scene(np.random.default_rng([seed, SPLITS[split], index]), sensor, size)
  return {"ms": sc.ms, "pan": sc.pan}


def make_synthetic_dataset(out_dir, sensor: str | Sensor, seed: int = 0, num_train: int = 256,
                           num_valid: int = 32, num_test: int = 4, test_size: int = 256,
                           patch_size: int = 64, orig_size: int | None = None,
                           scene_size: int | None = None, stride: int | None = None,
                           overwrite: bool = False, progress: bool = False
                           ) -> dict[str, pathlib.Path]:
  """Writes a synthetic PanCollection dataset (deterministic in `seed`).

  Each synthetic scene (rendered at PAN resolution, observed as MS + PAN, see
  `synthesize_scene`) is a full-resolution pair; the reduced-resolution files apply
  Wald's protocol to it (`reduce_scene`: gt = MS, ms = MTF + decimation of MS, lms =
  interp23tap(ms), pan = imresize(PAN, 1/r)), exactly as for real scenes.

  Args:
    out_dir: output folder (created).
    sensor: any registered sensor (4 or 8 bands, ...).
    seed: seeds every scene (train/valid/test streams are independent).
    num_train, num_valid: reduced-resolution patches (0 skips the file; < 0 is refused).
    num_test: scenes in each test file (0 skips both; < 0 is refused).
    test_size: PAN size of the reduced-resolution test scenes.
    patch_size: PAN size of the train/valid patches.
    orig_size: PAN size of the full-resolution test scenes (default `test_size`; the
      public files use 512).
    scene_size: reduced PAN size of each scene that train/valid patches are cut from
      (default 4 * patch_size).
    stride: step between train/valid patches (default patch_size // 2, multiple of r).
    overwrite: replace existing files (otherwise FileExistsError before any work).
    progress: show a tqdm bar.

  Returns:
    {"train", "valid", "test", "test_full"} -> path (the files written).
  """
  from tqdm.auto import tqdm

  for name, v in (("num_train", num_train), ("num_valid", num_valid), ("num_test", num_test)):
    if v < 0:
      raise ValueError(f"{name} must be >= 0 (0 skips that file), got {v}")
  sensor = get_sensor(sensor)
  r = sensor.ratio
  scene_size = 4 * patch_size if scene_size is None else int(scene_size)
  stride = max(r, patch_size // 2 // r * r) if stride is None else int(stride)
  orig_size = test_size if orig_size is None else int(orig_size)
  for name, v in (("patch_size", patch_size), ("test_size", test_size),
                  ("orig_size", orig_size), ("scene_size", scene_size), ("stride", stride)):
    if v <= 0 or v % r:
      raise ValueError(f"{name} must be a positive multiple of the ratio {r}, got {v}")
  if scene_size % r**2 or test_size % r**2:
    raise ValueError(f"scene_size and test_size must be multiples of {r * r} (Wald reduction)")
  if patch_size > scene_size:
    raise ValueError(f"patch_size {patch_size} exceeds scene_size {scene_size}")
  wanted = {"train": num_train, "valid": num_valid, "test": num_test, "test_full": num_test}
  paths = {k: p for k, p in dataset_paths(out_dir, sensor).items() if wanted[k] > 0}
  existing = [str(p) for p in paths.values() if p.exists()]
  if existing and not overwrite:
    raise FileExistsError(f"{', '.join(existing)} exist(s); pass overwrite=True (--overwrite)")
  per_scene = len(cut_patches({"pan": np.zeros((scene_size, scene_size, 1)),
                               "ms": np.zeros((scene_size // r,) * 2 + (1,))},
                              patch_size, stride, r)["pan"])
  counts = {"train": -(-num_train // per_scene), "valid": -(-num_valid // per_scene),
            "test": num_test, "test_full": num_test}
  bar = tqdm(total=sum(counts[k] for k in paths), desc="synthetic scenes", disable=not progress)
  for split, path in paths.items():
    cases = []
    for i in range(counts[split]):
      if split == "test_full":
        cases.append(full_scene(_scene(seed, split, i, sensor, orig_size), r))
      else:
        size = (test_size if split == "test" else scene_size) * r
        case = reduce_scene(_scene(seed, split, i, sensor, size), sensor, r)
        cases.append(case if split == "test" else cut_patches(case, patch_size, stride, r))
      bar.update()
    if split in ("test", "test_full"):
      arrays = {k: np.stack([c[k] for c in cases]) for k in cases[0]}
    else:
      arrays = {k: np.concatenate([c[k] for c in cases])[:wanted[split]] for k in cases[0]}
    write_pancollection(path, arrays, sensor, units="dn", overwrite=overwrite,
                        extra={"source": "srino_jax.synthetic", "seed": seed,
                               "split": split})
  bar.close()
  return paths


def build_parser() -> argparse.ArgumentParser:
  p = cli.make_parser(
      prog="python -m srino_jax.synthetic",
      description="Write a synthetic PanCollection dataset (train/valid patches and "
                  "reduced- and full-resolution test scenes) rendered from seeded, "
                  "satellite-like scenes. Exit codes: 0 ok, 2 bad arguments, 5 output "
                  "exists or not writable (see srino_jax.errors).")
  p.add_argument("--sensor", required=True, type=str.upper,
                 help=f"sensor to simulate ({', '.join(sensor_names())})")
  p.add_argument("--out", required=True, help="output folder")
  p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
  p.add_argument("--train", type=cli.nonnegative_int, default=256,
                 help="training patches (default 256; 0 skips the file)")
  p.add_argument("--valid", type=cli.nonnegative_int, default=32,
                 help="validation patches (default 32; 0 skips the file)")
  p.add_argument("--test", type=cli.nonnegative_int, default=4,
                 help="scenes in each test file, reduced and full resolution (default 4; "
                      "0 skips both)")
  p.add_argument("--size", type=cli.positive_int, default=256,
                 help="PAN size of the reduced-resolution test scenes (default 256)")
  p.add_argument("--orig-size", type=cli.positive_int, default=None,
                 help="PAN size of the full-resolution test scenes (default: --size)")
  p.add_argument("--patch", type=cli.positive_int, default=64,
                 help="PAN size of the train/valid patches (default 64)")
  p.add_argument("--stride", type=cli.positive_int, default=None,
                 help="step between train/valid patches cut from one scene (default patch/2)")
  p.add_argument("--overwrite", action="store_true", help="replace existing files")
  p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
  return p


def _main(args: argparse.Namespace) -> int:
  if args.sensor not in sensor_names():
    raise UsageError(f"--sensor: unknown sensor {args.sensor!r}",
                     f"Use one of {', '.join(sensor_names())}.")
  if args.train == args.valid == args.test == 0:
    raise UsageError("--train, --valid and --test are all 0: nothing to write",
                     "Ask for at least one file.")
  wanted = {"train": args.train, "valid": args.valid, "test": args.test,
            "test_full": args.test}
  for split, path in dataset_paths(args.out, args.sensor).items():
    if wanted[split] > 0:  # before rendering any scene
      cli.check_writable(path, args.overwrite)
  try:
    paths = make_synthetic_dataset(args.out, args.sensor, seed=args.seed, num_train=args.train,
                                   num_valid=args.valid, num_test=args.test,
                                   test_size=args.size, patch_size=args.patch,
                                   orig_size=args.orig_size, stride=args.stride,
                                   overwrite=args.overwrite, progress=not args.no_progress)
  except ValueError as e:  # size/stride/patch combinations the sensor's ratio does not allow
    raise UsageError(str(e), "Change --size/--orig-size/--patch/--stride.") from e
  for split, path in paths.items():
    print(f"{split}: {path}")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  """Command-line entry point; returns the exit status (`srino_jax.errors` codes)."""
  return cli.run(_main, build_parser(), argv)
