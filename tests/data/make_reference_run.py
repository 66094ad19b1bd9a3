"""Writes `reference_run_<commit>.npz`: a tiny training run and its fusions, made through the
command lines only (`train.py`, `sample.py`), so the same script runs on any commit.

  python tests/data/make_reference_run.py REPO OUT.npz

REPO is a checkout (e.g. a git worktree of the commit to pin); the run is the tests' tiny
QB run (conftest.TINY_OVERRIDES) on its synthetic data. Saved: every stage's per-step
training loss (metrics.jsonl), and `sample.py`'s output (`sr`, `sr_std`) of the synthetic
test scenes with the last stage-2 weights (K = 2, eta 0.5, seed 3: both noises used) and
with the last PNN weights. tests/test_reference_run.py compares a fresh run with it.
"""

import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import TINY_OVERRIDES  # noqa: E402

STAGES = ("aux", "stage1", "stage2", "pnn")
SAMPLE_FLAGS = ("--num-samples", "2", "--eta", "0.5", "--seed", "3", "--no-table")


def run(repo: str, out: str) -> None:
  with tempfile.TemporaryDirectory() as tmp:
    data, work = os.path.join(tmp, "data"), os.path.join(tmp, "run")
    flags = [f"--config.{o}" for o in (f"data.root={data}", *TINY_OVERRIDES,
                                       "train.pnn_steps=4", "train.baselines=pnn")]
    subprocess.run([sys.executable, "train.py", "--config", "configs/qb.py", "--workdir", work,
                    "--quiet", *flags], cwd=repo, check=True)
    saved = {}
    for stage in STAGES:
      with open(os.path.join(work, "logs", stage, "metrics.jsonl")) as f:
        saved[f"loss_{stage}"] = np.array([r["train/loss"] for r in map(json.loads, f)
                                           if "train/loss" in r])
    for stage in ("stage2", "pnn"):
      sr = os.path.join(tmp, f"{stage}.h5")
      subprocess.run([sys.executable, "sample.py", "--workdir", work, "--which", "last",
                      "--stage", stage, "--input", os.path.join(data, "test_qb_multiExm1.h5"),
                      "--output", sr, *SAMPLE_FLAGS], cwd=repo, check=True)
      with h5py.File(sr) as f:
        saved[f"sr_{stage}"] = f["sr"][()]
        if "sr_std" in f:
          saved[f"sr_std_{stage}"] = f["sr_std"][()]
  np.savez_compressed(out, **saved)
  print(f"wrote {out}: " + ", ".join(f"{k} {v.shape}" for k, v in saved.items()))


if __name__ == "__main__":
  run(*sys.argv[1:3])
