r"""Is SRINO's spread of K samples an honest error bar? Before and after calibration (issue 16).

  python benchmarks/uncertainty.py --run runs/study/real4_ema0.99_s0 [--num-samples 8]

Calibrates the run's spread on its validation data (the validation parts of the GeoEye-1
and IKONOS held-out blocks: `python -m srino_jax.calibrate`, stored in the run), then fuses
the test parts (never used to calibrate) K times and reports, per scene and pooled, the
coverage of the errors at the nominal 68 / 90 / 95 % by the bars z_q x spread (a Gaussian
reading of the raw spread) and c_q x spread (the calibrated scales), and Spearman's rank
correlation between the spread and the absolute error. Reduced resolution, model units.
Writes benchmarks/results/uncertainty.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import jax
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srino_jax import inference  # noqa: E402
from srino_jax.atomic import write_text_atomic  # noqa: E402
from srino_jax.data.realscenes import RealScene  # noqa: E402
from srino_jax.metrics.uncertainty import (LEVELS, coverage, gaussian_scale,  # noqa: E402
                                           rank_correlation)
from srino_jax.training.calibration import calibrate, save_calibration  # noqa: E402
from srino_jax.training.run import Run  # noqa: E402


def _report(err, spread, scales) -> dict:
  return {"raw": {f"{q:g}": coverage(err, gaussian_scale(q) * spread) for q in LEVELS},
          "calibrated": {f"{q:g}": coverage(err, scales[f"{q:g}"] * spread) for q in LEVELS},
          "spearman": rank_correlation(spread, err)}


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--run", required=True, help="a trained real4 run folder")
  p.add_argument("--num-samples", type=int, help="K (default: the run's, at least 2)")
  p.add_argument("--steps", type=int, help="DDIM steps (default: the run's)")
  p.add_argument("--eta", type=float, help="DDIM eta (default: the run's)")
  p.add_argument("--weights", choices=("ema", "online"), help="default: the run's")
  p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "uncertainty"))
  args = p.parse_args(argv)
  t0 = time.perf_counter()
  run = Run.load(args.run, weights=args.weights)
  k = args.num_samples or max(2, run.sampling.num_samples)
  params = run.params()
  cal = calibrate(run, params, k, args.steps, args.eta)
  save_calibration(run, cal)
  fuse = inference.make_fuser(run, params, k, args.steps, args.eta)
  scenes, pooled_err, pooled_spread = {}, [], []
  for source in run.sources:
    scene = RealScene(source.target, run.config.data.realdata, run.holdout)
    data = scene.heldout_batch("reduced", "test")
    mean, std = inference.fuse_scenes(fuse, data, jax.random.key(1))
    err = mean - data["gt"]
    scenes[scene.name] = _report(err, std, cal["scales"])
    pooled_err.append(err.ravel())
    pooled_spread.append(std.ravel())
  pooled = _report(np.concatenate(pooled_err), np.concatenate(pooled_spread), cal["scales"])
  command = "python benchmarks/uncertainty.py " + " ".join(
      argv if argv is not None else sys.argv[1:])
  where = os.path.relpath(run.workdir)
  res = {"command": command, "run": where, "calibration": cal, "test": scenes,
         "pooled": pooled, "seconds": time.perf_counter() - t0}
  write_text_atomic(args.out + ".json", json.dumps(res, indent=1))
  s = cal["settings"]
  lines = ["# The spread of K samples as an error bar: test coverage before and after "
           "calibration", "", f"Command: `{command}` ({res['seconds']:.0f} s). Run "
           f"{where}: {s['weights']} weights, K = {s['num_samples']}, {s['steps']} "
           f"steps, eta {s['eta']:g}. Calibrated on the validation parts ({cal['n']} values), "
           "scored on the test parts (reduced resolution). Raw: the Gaussian reading "
           "z_q x spread; calibrated: the conformal c_q x spread (c = "
           + ", ".join(f"{q}: {c:.2f}" for q, c in cal["scales"].items()) + ").", "",
           "| test data | raw 68 | raw 90 | raw 95 | cal 68 | cal 90 | cal 95 | Spearman |",
           "|---|---|---|---|---|---|---|---|"]
  for name, r in [*scenes.items(), ("pooled", pooled)]:
    cells = [f"{100 * r[kind][f'{q:g}']:.1f} %" for kind in ("raw", "calibrated")
             for q in LEVELS]
    lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['spearman']:.3f} |")
  text = "\n".join(lines) + "\n"
  write_text_atomic(args.out + ".md", text)
  print(text)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
