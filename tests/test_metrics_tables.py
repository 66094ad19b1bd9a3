"""metrics.tables: score sets and stacks (border cut, clipping, per-image values, errors)."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.metrics import (d_lambda_khan, ergas, full_resolution, psnr, psnr_mse, q2n,
                               reduced_resolution, sam, scc, score_stack, uqi_blocks)
from _metric_images import random_image as _image, smooth_scene as _smooth_scene


def test_full_resolution_border_cut_after_filtering():
  """Our dim_cut extension at full resolution: filter the whole scene, then cut every input
  of the two distortions with the toolbox's slice (0-based rows 4 .. 58 for dim_cut 5)."""
  rng = np.random.default_rng(16)
  truth = _smooth_scene(rng, 64, 64, 4, sigma=2.0)
  pan = truth.mean(axis=-1, keepdims=True)
  ms_lr = mtf_filter(truth, "qb")[2::4, 2::4]
  lms = interp23tap(ms_lr)
  fused = lms + 0.7 * (pan - interp23tap(imresize(pan, 0.25)))
  cut = (slice(4, 59), slice(4, 59))
  f, fm, l, p = fused[cut], mtf_filter(fused, "qb")[cut], lms[cut], pan[cut]
  pf = interp23tap(imresize(pan, 0.25))[cut]
  dl = 1 - q2n(l, fm)
  ds = np.mean(np.abs(np.mean(uqi_blocks(f, p, 32), axis=(0, 1))
                      - np.mean(uqi_blocks(l, pf, 32), axis=(0, 1))))
  res = full_resolution(fused, ms_lr, pan, "qb", dim_cut=5)
  assert res["D_lambda_K"] == pytest.approx(dl, abs=1e-14)
  assert res["D_s"] == pytest.approx(ds, abs=1e-14)
  assert res["HQNR"] == pytest.approx((1 - dl) * (1 - ds), abs=1e-14)
  assert res["D_s"] != full_resolution(fused, ms_lr, pan, "qb")["D_s"]


# ---------------------------------------------------------------- score sets and stacks


def test_reduced_resolution_cut_and_clip_follow_the_toolbox():
  rng = np.random.default_rng(12)
  gt = _image(rng, 64, 64, 4)
  fused = gt + rng.normal(0, 300, gt.shape)
  res = reduced_resolution(fused, gt, "qb", dim_cut=5, clip=True)
  # I(dim_cut:end-dim_cut) in MATLAB = 0-based rows 4 .. 58; th_values clips to 2^11 = 2048.
  g, f = gt[4:59, 4:59], np.clip(fused[4:59, 4:59], 0, 2048)
  assert res == {"PSNR": psnr(g, f, 2047), "PSNR_MSE": psnr_mse(g, f, 2047), "SAM": sam(g, f),
                 "ERGAS": ergas(g, f), "SCC": scc(g, f), "Q2n": q2n(g, f)}
  plain = reduced_resolution(fused, gt, "qb")
  assert plain["Q2n"] == q2n(gt, fused) and plain["PSNR"] == psnr(gt, fused, 2047)


def test_score_stack_per_image_and_summary():
  rng = np.random.default_rng(13)
  gt = np.stack([_image(rng, 32, 32, 4) for _ in range(3)])
  fused = gt + rng.normal(0, 50, gt.shape) * np.array([1.0, 2.0, 4.0])[:, None, None, None]
  s = score_stack("reduced", fused, sensor="qb", gt=gt)
  for i in range(3):
    one = reduced_resolution(fused[i], gt[i], "qb")
    assert {k: s["per_image"][k][i] for k in one} == one
  ergas_vals = s["per_image"]["ERGAS"]
  assert s["mean"]["ERGAS"] == pytest.approx(np.mean(ergas_vals))
  assert s["std"]["ERGAS"] == pytest.approx(np.std(ergas_vals, ddof=1))   # MATLAB std
  assert list(s["per_image"]["PSNR"]) == sorted(s["per_image"]["PSNR"], reverse=True)


def test_bad_inputs_raise_clear_errors():
  rng = np.random.default_rng(14)
  x = _image(rng, 32, 32, 4)
  with pytest.raises(ValueError, match="bands"):
    reduced_resolution(x, x, "wv3")
  with pytest.raises(ValueError, match="shape"):
    sam(x, x[:16])
  bad = x.copy()
  bad[3, 3, 1] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    q2n(x, bad)
  with pytest.raises(ValueError, match="multiple"):
    d_lambda_khan(x[:30], x[:30], "qb")
  with pytest.raises(ValueError, match="gt"):
    score_stack("reduced", x[None], sensor="qb")
