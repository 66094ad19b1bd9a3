"""One-call score sets (the toolbox's indexes_evaluation / indexes_evaluation_FS) and stacks.

`reduced_resolution` and `full_resolution` score one image; `score_stack` scores an
(N, H, W, C) stack and returns per-image values with their mean and standard deviation,
which is what comparison tables print ("mean +- std" over the test scenes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.metrics._inputs import (as_image, as_pan, as_stack, check_same_shape,
                                       clip_toolbox, cut_border)
from srino_jax.metrics.full import _d_s_core, degraded_pan, hqnr
from srino_jax.metrics.q2n import q2n
from srino_jax.metrics.reduced import ergas, psnr, psnr_mse, sam, scc
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["REDUCED_INDICES", "FULL_INDICES", "reduced_resolution", "full_resolution",
           "score_stack", "summarize"]

# Column order of the tables; "Q2n" is Q4 / Q8 for 4 / 8 bands. "PSNR" is the toolbox's
# mean of per-band PSNRs, "PSNR_MSE" the PSNR of the overall MSE (`reduced.psnr_mse`).
REDUCED_INDICES = ("PSNR", "PSNR_MSE", "SAM", "ERGAS", "SCC", "Q2n")
FULL_INDICES = ("D_lambda_K", "D_s", "HQNR")


def reduced_resolution(fused, gt, sensor: str | Sensor, ratio: int = 4, dim_cut: int = 0,
                       clip: bool = False, block_size: int = 32) -> dict[str, float]:
  """Reduced-resolution indices of one fused image against its ground truth.

  As the toolbox's indexes_evaluation.m: first the optional border cut (`dim_cut`, the
  toolbox's asymmetric `dim_cut:end-dim_cut` slice, see `cut_border`), then the optional
  clipping of the fused image (`th_values`: to [0, 2^L] = [0, max + 1]), then
  PSNR (data_range = sensor max), SAM (degrees), ERGAS, SCC and Q2n (32 x 32 blocks).

  Args:
    fused: (H, W, C) fused image in digital numbers.
    gt: (H, W, C) ground truth in digital numbers.
    sensor: sensor name or `Sensor` (band count, max value).
    ratio: PAN / MS resolution ratio (ERGAS).
    dim_cut: toolbox border cut; 0 = none (default), the toolbox scripts use 21.
    clip: clip the fused image as the toolbox's `th_values = 1`.
    block_size: Q2n block size and shift.

  Returns:
    {"PSNR", "PSNR_MSE", "SAM", "ERGAS", "SCC", "Q2n"} -> float.
  """
  sensor = get_sensor(sensor)
  fused = as_image(fused, "fused", bands=sensor.bands)
  gt = as_image(gt, "gt", bands=sensor.bands)
  check_same_shape(gt, fused, "gt", "fused")
  gt = cut_border(gt, dim_cut)
  fused = cut_border(fused, dim_cut)
  if clip:
    fused = clip_toolbox(fused, sensor)
  return {
      "PSNR": psnr(gt, fused, sensor.max_value),
      "PSNR_MSE": psnr_mse(gt, fused, sensor.max_value),
      "SAM": sam(gt, fused),
      "ERGAS": ergas(gt, fused, ratio),
      "SCC": scc(gt, fused),
      "Q2n": q2n(gt, fused, block_size, block_size),
  }


def full_resolution(fused, ms_lr, pan, sensor: str | Sensor, ratio: int = 4,
                    dim_cut: int = 0, clip: bool = False, lms=None,
                    block_size: int = 32) -> dict[str, float]:
  """Full-resolution indices D_lambda_K, D_s, HQNR of one fused image (no ground truth).

  As the toolbox's indexes_evaluation_FS.m with HQNR: optional clipping of the fused image
  to [0, 2^L], then `hqnr` (lms = interp23tap(ms_lr) unless the dataset's `lms` is passed).

  `dim_cut` is our extension (the toolbox never cuts at full resolution, so dim_cut = 0
  reproduces it): every filter (MTF of the fused image, imresize + interp23tap of the PAN)
  still runs on the whole scene, then the toolbox's border slice is cut from all inputs of
  the two distortions; Q2n mirror-pads and the D_s blocks at the bottom / right edges are
  partial, as q2n.m and blockproc handle sizes that are not block multiples.

  Args:
    fused: (H, W, C) fused image in digital numbers.
    ms_lr: (H/ratio, W/ratio, C) low-resolution MS (may be None when `lms` is given).
    pan: (H, W, 1) or (H, W) PAN.
    sensor: sensor name or `Sensor`.
    ratio: PAN / MS resolution ratio.
    dim_cut: border cut (see above); 0 = none.
    clip: clip the fused image as the toolbox's `th_values = 1`.
    lms: optional (H, W, C) upsampled MS.
    block_size: block size of both distortions.

  Returns:
    {"D_lambda_K", "D_s", "HQNR"} -> float.
  """
  sensor = get_sensor(sensor)
  fused = as_image(fused, "fused", bands=sensor.bands)
  if clip:
    fused = clip_toolbox(fused, sensor)
  if int(dim_cut) <= 0:
    h, dl, ds = hqnr(fused, ms_lr, pan, sensor, ratio, block_size, lms=lms)
    return {"D_lambda_K": dl, "D_s": ds, "HQNR": h}
  pan = as_pan(pan)
  if lms is None:
    if ms_lr is None:
      raise ValueError("full_resolution: pass ms_lr (or lms)")
    lms = interp23tap(as_image(ms_lr, "ms_lr", bands=sensor.bands), ratio)
  lms = as_image(lms, "lms", bands=sensor.bands)
  check_same_shape(fused, lms, "fused", "lms")
  if pan.shape[:2] != fused.shape[:2]:
    raise ValueError(f"pan has shape {pan.shape[:2]} but fused has {fused.shape[:2]}")
  cut = [cut_border(a, dim_cut) for a in
         (fused, mtf_filter(fused, sensor, ratio), lms, pan, degraded_pan(pan, ratio))]
  fused_c, fused_mtf_c, lms_c, pan_c, pan_filt_c = cut
  dl = 1.0 - q2n(lms_c, fused_mtf_c, block_size, block_size)
  ds = _d_s_core(fused_c, lms_c, pan_c, pan_filt_c, block_size, 1.0)
  return {"D_lambda_K": dl, "D_s": ds, "HQNR": (1.0 - dl) * (1.0 - ds)}


def summarize(per_image: dict[str, np.ndarray], ddof: int = 1
              ) -> tuple[dict[str, float], dict[str, float]]:
  """Mean and standard deviation over images of each index.

  Args:
    per_image: index name -> (N,) values.
    ddof: 1 = MATLAB's `std` (N - 1), which the toolbox-based tables use; 0 = numpy's.

  Returns:
    (mean, std) dicts; std is 0 for a single image.
  """
  mean, std = {}, {}
  for name, values in per_image.items():
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # an inf PSNR (identical images) gives std NaN
      mean[name] = float(np.mean(values))
      std[name] = float(np.std(values, ddof=ddof)) if values.size > ddof else 0.0
  return mean, std


def score_stack(kind: str, fused_stack, *, sensor: str | Sensor, gt=None, ms_lr=None,
                pan=None, lms=None, ratio: int = 4, dim_cut: int = 0, clip: bool = False,
                block_size: int = 32, ddof: int = 1) -> dict[str, Any]:
  """Scores an (N, H, W, C) stack of fused images, image by image.

  Args:
    kind: "reduced" (needs `gt`) or "full" (needs `pan` and `ms_lr` or `lms`).
    fused_stack: (N, H, W, C) fused images in digital numbers.
    sensor: sensor name or `Sensor`.
    gt: (N, H, W, C) ground truths (reduced).
    ms_lr: (N, H/r, W/r, C) low-resolution MS (full).
    pan: (N, H, W, 1) or (N, H, W) PAN (full).
    lms: (N, H, W, C) upsampled MS (full; optional, default interp23tap(ms_lr)).
    ratio, dim_cut, clip, block_size: as in `reduced_resolution` / `full_resolution`.
    ddof: standard-deviation convention (see `summarize`).

  Returns:
    {"kind", "n", "indices": tuple of names, "per_image": name -> (N,) float64 array,
     "mean": name -> float, "std": name -> float, "protocol": {"dim_cut", "clip"}}.
  """
  sensor = get_sensor(sensor)
  fused_stack = as_stack(fused_stack, "fused_stack", bands=sensor.bands)
  n = fused_stack.shape[0]

  def stack(arr, name, bands):
    if arr is None:
      return None
    arr = as_stack(arr, name, bands=bands)
    if arr.shape[0] != n:
      raise ValueError(f"{name} holds {arr.shape[0]} images but fused_stack holds {n}")
    return arr

  if kind == "reduced":
    if gt is None:
      raise ValueError("score_stack('reduced', ...) needs gt")
    gt = stack(gt, "gt", sensor.bands)
    scores = [reduced_resolution(fused_stack[i], gt[i], sensor, ratio, dim_cut, clip,
                                 block_size) for i in range(n)]
    names = REDUCED_INDICES
  elif kind == "full":
    if pan is None or (ms_lr is None and lms is None):
      raise ValueError("score_stack('full', ...) needs pan and ms_lr (or lms)")
    pan = stack(pan, "pan", 1)
    ms_lr = stack(ms_lr, "ms_lr", sensor.bands)
    lms = stack(lms, "lms", sensor.bands)
    scores = [full_resolution(fused_stack[i], None if ms_lr is None else ms_lr[i], pan[i],
                              sensor, ratio, dim_cut, clip,
                              None if lms is None else lms[i], block_size) for i in range(n)]
    names = FULL_INDICES
  else:
    raise ValueError(f"kind must be 'reduced' or 'full', got {kind!r}")
  per_image = {name: np.array([s[name] for s in scores]) for name in names}
  mean, std = summarize(per_image, ddof)
  return {"kind": kind, "n": n, "indices": names, "per_image": per_image,
          "mean": mean, "std": std, "protocol": {"dim_cut": int(dim_cut), "clip": bool(clip)}}
