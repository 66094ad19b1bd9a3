"""metrics.report: every printed table states its protocol (border cut, clipping, the two
PSNR conventions, labelled), and rows scored under different protocols do not share one."""

import numpy as np
import pytest

from srino_jax.metrics import format_table, make_row, score_stack
from srino_jax.metrics.report import protocol_note


def _rows(dim_cut, clip):
  rng = np.random.default_rng(0)
  gt = rng.uniform(100, 1500, (2, 64, 64, 4))
  fused = gt + rng.normal(0, 40, gt.shape)
  scores = score_stack("reduced", fused, sensor="qb", gt=gt, dim_cut=dim_cut, clip=clip)
  return [make_row("X", scores, bands=4)]


def test_a_table_ends_with_its_protocol_and_labels_both_psnrs():
  table = format_table(_rows(0, True), title="t")
  header, last = table.splitlines()[1], table.splitlines()[-1]
  assert "PSNR(bands)" in header and "PSNR(MSE)" in header and "Q4" in header
  assert last.startswith("protocol: no border cut (dim_cut=0); fused clipped to [0, 2^bits]")
  assert "PSNR(MSE) = 10 log10(max^2 / MSE over all bands)" in last
  cut = format_table(_rows(21, False)).splitlines()[-1]
  assert "dim_cut=21 (the toolbox's I(21:end-21, 21:end-21))" in cut and "unclipped" in cut


def test_the_two_psnrs_are_scored_as_defined():
  row = _rows(0, False)[0]
  assert row["mean"]["PSNR"] >= row["mean"]["PSNR_MSE"]  # mean of logs >= log of mean
  assert row["protocol"] == {"dim_cut": 0, "clip": False}


def test_rows_of_two_protocols_cannot_share_a_table():
  with pytest.raises(ValueError, match="different protocols"):
    protocol_note(_rows(0, True) + _rows(21, True))
