"""Full-resolution (no ground truth) indices: D_lambda_K (Khan), D_s and HQNR.

As the toolbox's D_lambda_K.m, D_s.m (with its default `flag_orig_paper = 0`, the
"toolbox 1.0" option) and HQNR.m compute them. Images are digital numbers: the fused image
and lms are (H, W, C), the PAN (H, W, 1) or (H, W), the low-resolution MS (H/r, W/r, C).
"""

from __future__ import annotations

import numpy as np

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.metrics._inputs import as_image, as_pan, check_same_shape
from srino_jax.metrics.q2n import q2n
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["d_lambda_khan", "d_s", "hqnr", "uqi_blocks", "degraded_pan"]


def _check_blocks(img: np.ndarray, block_size: int, who: str) -> None:
  """The toolbox's guard: both sides must be multiples of the block size."""
  h, w = img.shape[:2]
  if h % block_size or w % block_size:
    raise ValueError(f"{who}: the image is {h} x {w}; rows and columns must be multiples of "
                     f"the block size {block_size} (as the toolbox requires)")


def uqi_blocks(x: np.ndarray, y: np.ndarray, block_size: int) -> np.ndarray:
  """Universal image quality index on distinct blocks, MATLAB `blockproc(x, [S S], uqi)`.

  Per block: 4 cov(x, y) mean(x) mean(y) / (var x + var y) / (mean(x)^2 + mean(y)^2), with
  the sample (N - 1) covariance of MATLAB's `cov`. Blocks start every `block_size` pixels
  from the top-left corner; partial blocks at the bottom / right are used as they are, as
  blockproc does.

  Args:
    x: (H, W, C) float64.
    y: (H, W, C) or (H, W, 1) float64 (broadcast over the bands of `x`).
    block_size: block side S.

  Returns:
    (ceil(H / S), ceil(W / S), C) float64 block UQI values (NaN for a 0/0 block).
  """
  h, w = x.shape[:2]
  if h % block_size == 0 and w % block_size == 0:
    return _uqi_whole_blocks(x, y, block_size)
  r0 = np.arange(0, h, block_size)
  c0 = np.arange(0, w, block_size)
  rs = np.diff(np.append(r0, h))
  cs = np.diff(np.append(c0, w))

  def block_sum(a):
    return np.add.reduceat(np.add.reduceat(a, r0, axis=0), c0, axis=1)

  def expand(a):
    return np.repeat(np.repeat(a, rs, axis=0), cs, axis=1)

  n = (rs[:, None] * cs[None, :])[..., None].astype(np.float64)
  mx = block_sum(x) / n
  my = block_sum(y) / n
  xc = x - expand(mx)
  yc = y - expand(my)
  dof = np.maximum(n - 1.0, 1.0)  # MATLAB cov normalises by N - 1 (by N when N = 1)
  cxy = block_sum(xc * yc) / dof
  vx = block_sum(xc * xc) / dof
  vy = block_sum(yc * yc) / dof
  with np.errstate(divide="ignore", invalid="ignore"):
    return 4.0 * cxy * mx * my / (vx + vy) / (mx ** 2 + my ** 2)


def _uqi_whole_blocks(x: np.ndarray, y: np.ndarray, s: int) -> np.ndarray:
  """`uqi_blocks` when every block is whole: block statistics on a reshaped view."""
  def blocks(a):  # (H, W, C) -> (H/s, W/s, C, s*s)
    h, w, c = a.shape
    return a.reshape(h // s, s, w // s, s, c).transpose(0, 2, 4, 1, 3).reshape(
        h // s, w // s, c, s * s)

  xb, yb = blocks(x), blocks(y)
  n = s * s
  mx = xb.mean(axis=-1)
  my = yb.mean(axis=-1)
  xc = xb - mx[..., None]
  yc = yb - my[..., None]
  dof = max(n - 1, 1)
  cxy = np.sum(xc * yc, axis=-1) / dof
  vx = np.sum(xc * xc, axis=-1) / dof
  vy = np.sum(yc * yc, axis=-1) / dof
  with np.errstate(divide="ignore", invalid="ignore"):
    return 4.0 * cxy * mx * my / (vx + vy) / (mx ** 2 + my ** 2)


def degraded_pan(pan: np.ndarray, ratio: int = 4) -> np.ndarray:
  """D_s.m's `pan_filt = interp23tap(imresize(I_PAN, 1/ratio), ratio)`: (H, W, 1) float64."""
  pan = as_pan(pan)
  h, w = pan.shape[:2]
  if h % ratio or w % ratio:
    raise ValueError(f"pan: {h} x {w} is not a multiple of the ratio {ratio}")
  return interp23tap(imresize(pan, 1.0 / ratio), ratio)


def _d_s_core(fused, lms, pan, pan_filt, block_size: int, q: float) -> float:
  """mean_b |mean(UQI(fused_b, PAN)) - mean(UQI(lms_b, pan_filt))|^q, then ^(1/q)."""
  q_high = np.mean(uqi_blocks(fused, pan, block_size), axis=(0, 1))
  q_low = np.mean(uqi_blocks(lms, pan_filt, block_size), axis=(0, 1))
  return float(np.mean(np.abs(q_high - q_low) ** q) ** (1.0 / q))


def _lms_from(ms_lr, lms, fused: np.ndarray, ratio: int) -> np.ndarray:
  """Checks / computes the upsampled MS (interp23tap of ms_lr unless `lms` is given)."""
  bands = fused.shape[-1]
  if lms is None:
    if ms_lr is None:
      raise ValueError("pass ms_lr (or lms) to compute the full-resolution indices")
    ms_lr = as_image(ms_lr, "ms_lr", bands=bands)
    if (ms_lr.shape[0] * ratio, ms_lr.shape[1] * ratio) != fused.shape[:2]:
      raise ValueError(f"ms_lr has shape {ms_lr.shape}; times the ratio {ratio} it should "
                       f"match the fused image's {fused.shape[:2]}")
    lms = interp23tap(ms_lr, ratio)
  lms = as_image(lms, "lms", bands=bands)
  check_same_shape(fused, lms, "fused", "lms")
  return lms


def d_lambda_khan(fused, lms, sensor: str | Sensor, ratio: int = 4,
                  block_size: int = 32) -> float:
  """Khan's spectral distortion (toolbox D_lambda_K.m): 1 - Q2n(lms, MTF(fused)).

  The fused image is filtered band by band with the sensor's MTF (replicate borders) but
  not decimated, and compared with the upsampled MS by Q2n on distinct blocks
  (block_size = shift), lms as the reference.

  Args:
    fused: (H, W, C) fused image in digital numbers; H, W multiples of block_size.
    lms: (H, W, C) upsampled MS (interp23tap of the low-resolution MS).
    sensor: sensor name or `Sensor` (MTF gains).
    ratio: PAN / MS resolution ratio.
    block_size: Q2n block side (32).

  Returns:
    D_lambda_K (0 = no spectral distortion).
  """
  sensor = get_sensor(sensor)
  fused = as_image(fused, "fused", bands=sensor.bands)
  lms = as_image(lms, "lms", bands=sensor.bands)
  check_same_shape(fused, lms, "fused", "lms")
  _check_blocks(fused, block_size, "d_lambda_khan")
  return 1.0 - q2n(lms, mtf_filter(fused, sensor, ratio), block_size, block_size)


def d_s(fused, ms_lr, pan, ratio: int = 4, block_size: int = 32, q: float = 1,
        lms=None) -> float:
  """Spatial distortion D_s (toolbox D_s.m, `flag_orig_paper = 0`).

  For each band b: Q_high_b = mean over distinct block_size x block_size blocks of
  UQI(fused_b, PAN) and Q_low_b = the same for UQI(lms_b, PAN_lr_up), where
  PAN_lr_up = interp23tap(imresize(PAN, 1/ratio), ratio) (bicubic MATLAB imresize with
  antialiasing, then the 23-tap interpolator back to full size) and lms = interp23tap(ms_lr)
  unless `lms` is given. D_s = (mean_b |Q_high_b - Q_low_b|^q)^(1/q); q = 1 in HQNR. No
  rounding is applied (unlike Q2n).

  Args:
    fused: (H, W, C) fused image in digital numbers; H, W multiples of block_size and ratio.
    ms_lr: (H/ratio, W/ratio, C) low-resolution MS (ignored when `lms` is given; may be None).
    pan: (H, W, 1) or (H, W) PAN.
    ratio: PAN / MS resolution ratio.
    block_size: UQI block side (32).
    q: exponent of the toolbox's D_s (1).
    lms: optional (H, W, C) upsampled MS to use instead of interp23tap(ms_lr).

  Returns:
    D_s (0 = the fused / PAN relation equals the lms / degraded-PAN relation).
  """
  fused = as_image(fused, "fused")
  pan = as_pan(pan)
  if pan.shape[:2] != fused.shape[:2]:
    raise ValueError(f"pan has shape {pan.shape[:2]} but fused has {fused.shape[:2]}")
  lms = _lms_from(ms_lr, lms, fused, ratio)
  _check_blocks(fused, block_size, "d_s")
  return _d_s_core(fused, lms, pan, degraded_pan(pan, ratio), block_size, q)


def hqnr(fused, ms_lr, pan, sensor: str | Sensor, ratio: int = 4, block_size: int = 32,
         lms=None) -> tuple[float, float, float]:
  """Hybrid QNR (toolbox HQNR.m): (1 - D_lambda_K) (1 - D_s), D_s with q = 1.

  Args:
    fused: (H, W, C) fused image in digital numbers.
    ms_lr: (H/ratio, W/ratio, C) low-resolution MS.
    pan: (H, W, 1) or (H, W) PAN.
    sensor: sensor name or `Sensor`.
    ratio: PAN / MS resolution ratio.
    block_size: block side of both distortions (32).
    lms: optional (H, W, C) upsampled MS (the dataset's `lms`); default interp23tap(ms_lr).

  Returns:
    (hqnr, d_lambda_k, d_s).
  """
  sensor = get_sensor(sensor)
  fused = as_image(fused, "fused", bands=sensor.bands)
  lms = _lms_from(ms_lr, lms, fused, ratio)
  dl = d_lambda_khan(fused, lms, sensor, ratio, block_size)
  ds = d_s(fused, None, pan, ratio, block_size, q=1, lms=lms)
  return (1.0 - dl) * (1.0 - ds), dl, ds
