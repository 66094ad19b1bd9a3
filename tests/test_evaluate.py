"""The evaluation entry point: numbers printed / written equal direct calls of the indices."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from srino_jax import evaluate
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.metrics import format_table, full_resolution, make_row, reduced_resolution


def _nchw(stack):
  return np.transpose(np.asarray(stack), (0, 3, 1, 2))


def _scenes(n=2, size=64, bands=4, seed=0):
  rng = np.random.default_rng(seed)
  gt = rng.uniform(100, 1800, (n, size, size, bands))
  pan = gt.mean(axis=-1, keepdims=True) + rng.normal(0, 5, (n, size, size, 1))
  ms = np.stack([mtf_filter(g, "qb")[2::4, 2::4] for g in gt])
  lms = np.stack([interp23tap(m) for m in ms])
  return {"gt": gt, "ms": ms, "lms": lms, "pan": pan}


def _write(path, arrays, scale=1.0):
  with h5py.File(path, "w") as f:
    for k, v in arrays.items():
      f[k] = _nchw(v) / scale
  return path


def test_reduced_resolution_cli_matches_direct_calls(tmp_path, capsys):
  scenes = _scenes()
  rng = np.random.default_rng(1)
  sr = scenes["gt"] + rng.normal(0, 20, scenes["gt"].shape)
  inp = _write(tmp_path / "rr.h5", scenes)
  out = _write(tmp_path / "sr.h5", {"sr": sr})
  js, cs = tmp_path / "s.json", tmp_path / "s.csv"
  code = evaluate.main(["--input", str(inp), "--sensor", "qb", "--methods", "exp",
                        "--fused", str(out), "--fused-name", "SRINO",
                        "--json", str(js), "--csv", str(cs)])
  assert code == 0
  printed = capsys.readouterr().out
  rows = {r["method"]: r for r in json.loads(js.read_text())["rows"]}
  assert list(rows) == ["EXP", "SRINO"]
  fused = {"EXP": scenes["lms"], "SRINO": sr}   # EXP is interp23tap of the MS
  for name, stack in fused.items():
    direct = [reduced_resolution(stack[i], scenes["gt"][i], "qb") for i in range(2)]
    for idx in ("PSNR", "SAM", "ERGAS", "SCC", "Q2n"):
      want = [d[idx] for d in direct]
      np.testing.assert_allclose(rows[name]["per_image"][idx], want, rtol=1e-10, atol=1e-12)
      assert rows[name]["mean"][idx] == pytest.approx(np.mean(want), rel=1e-10)
      assert rows[name]["std"][idx] == pytest.approx(np.std(want, ddof=1), rel=1e-8, abs=1e-12)
    line = next(ln for ln in printed.splitlines() if ln.startswith(name))
    psnr = [d["PSNR"] for d in direct]
    assert f"{np.mean(psnr):.3f} ± {np.std(psnr, ddof=1):.3f}" in line
  assert "Q4" in printed and "Reduced resolution" in printed
  with open(cs, newline="") as f:
    table = {r["method"]: r for r in csv.DictReader(f)}
  assert float(table["SRINO"]["Q2n_mean"]) == rows["SRINO"]["mean"]["Q2n"]


def test_full_resolution_of_a_file_divided_by_the_max(tmp_path, capsys):
  scenes = _scenes(n=1, seed=2)
  del scenes["gt"]
  inp = _write(tmp_path / "fr.h5", scenes, scale=2047.0)
  js = tmp_path / "f.json"
  assert evaluate.main(["--input", str(inp), "--sensor", "qb", "--methods", "exp",
                        "--json", str(js)]) == 0
  printed = capsys.readouterr().out
  assert "multiplied by 2047" in printed and "Full resolution" in printed
  row = json.loads(js.read_text())["rows"][0]
  back = {k: v / 2047.0 * 2047.0 for k, v in scenes.items()}  # round trip through the file
  want = full_resolution(interp23tap(back["ms"][0]), back["ms"][0], back["pan"][0], "qb",
                         lms=back["lms"][0])
  for idx in ("D_lambda_K", "D_s", "HQNR"):
    assert row["per_image"][idx][0] == pytest.approx(want[idx], rel=1e-9, abs=1e-12)


def test_limit_and_library_rows(tmp_path):
  scenes = _scenes(n=3, seed=3)
  inp = _write(tmp_path / "rr.h5", scenes)
  data, notes = evaluate.load_scenes(inp, "qb", limit=2)
  assert data["gt"].shape == (2, 64, 64, 4) and data["pan"].shape == (2, 64, 64, 1)
  np.testing.assert_array_equal(data["ms"], scenes["ms"][:2])
  assert notes == []
  rows = evaluate.evaluate_methods(data, "qb", methods=[], fused={"GT": data["gt"]})
  assert rows[0]["mean"]["Q2n"] == pytest.approx(1.0, abs=1e-12)
  assert rows[0]["mean"]["ERGAS"] == 0.0
  table = format_table(rows + [make_row("X", {"kind": "full", "n": 1, "indices": ["HQNR"],
                                              "mean": {"HQNR": 0.9}, "std": {"HQNR": 0.0},
                                              "per_image": {"HQNR": [0.9]}})])
  assert "0.9000 ± 0.0000" in table and "1.0000 ± 0.0000" in table


def test_missing_key_and_wrong_bands_give_clear_errors(tmp_path, capsys):
  scenes = _scenes(n=1, seed=4)
  no_pan = _write(tmp_path / "nopan.h5", {k: v for k, v in scenes.items() if k != "pan"})
  with pytest.raises(ValueError, match="pan"):
    evaluate.load_scenes(no_pan, "qb")
  # Exit 3: a bad input file (srino_jax.errors; was 2 before the common error style).
  assert evaluate.main(["--input", str(no_pan), "--sensor", "qb", "--methods", "exp"]) == 3
  assert "missing key" in capsys.readouterr().err
  ok = _write(tmp_path / "ok.h5", scenes)
  assert evaluate.main(["--input", str(ok), "--sensor", "wv3", "--methods", "exp"]) == 3
  err = capsys.readouterr().err
  assert "4 bands" in err and "WV3" in err
  small = _write(tmp_path / "small.h5", {"sr": scenes["gt"][:, :32, :32]})
  with pytest.raises(ValueError, match="32 x 32"):
    evaluate.load_fused(small, "qb", evaluate.load_scenes(ok, "qb")[0])
  with pytest.raises(ValueError, match="unknown method"):
    evaluate.evaluate_methods(evaluate.load_scenes(ok, "qb")[0], "qb", methods=["nope"])
