r"""Does SRINO overtake a CNN as training grows? Learning curves on the real4 data (issue 16).

  python benchmarks/learning_curve.py [--multiples 1,4,16] [--seeds 0,1] [--runs runs/curve]
  python benchmarks/learning_curve.py --report-only        # tables and plot of what is done

SRINO (configs/real4.py: its EMA and chosen sampler), FusionNet and PNN, each trained at
1x, 4x and 16x the config's step counts (the learning-rate decay period and the EMA start
scale with them, so a longer run is the same schedule stretched), over --seeds. Each run
trains in its own workdir under --runs and resumes from its own checkpoints: the 16x SRINO
runs take hours on 2 cores, so run this in the background, alone, and again in a later
session; every invocation first reports what is finished. Training seconds are measured
per run (added up over resumed sessions) for the equal-wall-clock view.

Scored on the test parts of the GeoEye-1 and IKONOS held-out blocks (their right halves,
never used to choose anything): reduced resolution (Q4, SAM, fused clipped, no border cut)
and full resolution (HQNR, D_lambda_K, D_s on the full-scale test parts). Writes
benchmarks/results/learning_curve.{json,md} and learning_curve.png (quality against steps
and against seconds; needs matplotlib: pip install -e ".[bench]").
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

from srino_jax import inference, metrics  # noqa: E402
from srino_jax.atomic import write_text_atomic  # noqa: E402
from srino_jax.data.realscenes import RealScene  # noqa: E402
from srino_jax.training import configfile, loop, stages  # noqa: E402
from srino_jax.training.run import Run  # noqa: E402

MODELS = {"SRINO": stages.SRINO_STAGES, "FusionNet": ("fusionnet",), "PNN": ("pnn",)}
# Fields scaled with the multiple m (step counts and the periods tied to them).
_SCALED = ("train.aux_steps", "train.stage1_steps", "train.stage2_steps", "train.pnn_steps",
           "train.fusionnet_steps", "optim.decay_every", "train.ema_start",
           "train.eval_every", "train.checkpoint_every")


def _ints(text):
  return [int(x) for x in text.split(",") if x.strip()]


def make_run(args, model: str, multiple: int, seed: int) -> Run:
  base = configfile.load_config(str(ROOT / "configs" / "real4.py"),
                                [f"data.realdata={args.realdata}", *args.set])
  flat = configfile.flat_fields(base)
  scaled = [f"{f}={int(flat[f]) * multiple}" for f in _SCALED]
  config = configfile.apply_overrides(base, [f"seed={seed}", *scaled])
  workdir = pathlib.Path(args.runs) / f"{model.lower()}_x{multiple}_s{seed}"
  return Run.from_config(config, str(workdir))


def _finished(run: Run, model: str) -> bool:
  for stage in MODELS[model]:
    last = os.path.join(run.stage_dir(stage), "last")
    steps = [int(n) for n in os.listdir(last) if n.isdigit()] if os.path.isdir(last) else []
    if not steps or max(steps) < run.stage_steps(stage):
      return False
  return True


def _seconds_file(run: Run) -> str:
  return os.path.join(run.workdir, "train_seconds.json")


def train(run: Run, model: str) -> float:
  """Trains (resuming) to the end; returns the run's training seconds over all sessions."""
  path = _seconds_file(run)
  spent = json.load(open(path))["seconds"] if os.path.isfile(path) else 0.0
  if not _finished(run, model):
    t0 = time.perf_counter()
    try:
      loop.prepare_data(run)
      loop.train(run, MODELS[model], progress=False)
    finally:  # an interrupted session still counts its seconds
      spent += time.perf_counter() - t0
      os.makedirs(run.workdir, exist_ok=True)
      write_text_atomic(path, json.dumps({"seconds": spent}))
  return spent


def _test_parts(run: Run):
  scenes = [RealScene(s.target, run.config.data.realdata, run.holdout) for s in run.sources]
  return [(s.name, s.sensor, s.heldout_batch("reduced", "test"), s.heldout_batch("full", "test"))
          for s in scenes]


def score(run: Run, model: str, parts) -> dict:
  stage = MODELS[model][-1]
  fusing = Run.load(run.workdir, stage=stage)
  fuse = inference.make_fuser(fusing, fusing.params())
  out = {}
  for name, sensor, reduced, full in parts:
    row = {}
    for kind, data in (("reduced", reduced), ("full", full)):
      fused, _ = inference.fuse_scenes(fuse, data, jax.random.key(0))
      dn = {k: sensor.to_dn(v) for k, v in data.items()}
      s = (metrics.score_stack("reduced", sensor.to_dn(fused), sensor=sensor, gt=dn["gt"],
                               ratio=sensor.ratio, clip=True) if kind == "reduced" else
           metrics.score_stack("full", sensor.to_dn(fused), sensor=sensor, ms_lr=dn["ms"],
                               pan=dn["pan"], lms=dn["lms"], ratio=sensor.ratio, clip=True))
      row.update(s["mean"])
    out[name] = row
  return out


def _markdown(results, command) -> str:
  lines = ["# Learning curves on the real4 data: SRINO, FusionNet, PNN", "",
           f"Command: `{command}`. Test parts of the held-out blocks (never used to choose); "
           "reduced resolution: fused clipped to [0, 2^bits], no border cut; full resolution: "
           "the test parts at full scale. Mean ± std over the seeds finished.", ""]
  for scene in sorted({s for r in results for s in r["scores"]}):
    lines += [f"## {scene}", "", "| model | steps x | seeds | train s | Q2n | SAM | HQNR |",
              "|---|---|---|---|---|---|---|"]
    for model in MODELS:
      for m in sorted({r["multiple"] for r in results if r["model"] == model}):
        rs = [r for r in results if r["model"] == model and r["multiple"] == m]

        def ms(key):
          v = [r["scores"][scene][key] for r in rs]
          return f"{np.mean(v):.4f} ± {np.std(v):.4f}"
        secs = np.mean([r["seconds"] for r in rs])
        lines.append(f"| {model} | {m} | {len(rs)} | {secs:.0f} | {ms('Q2n')} | {ms('SAM')} | "
                     f"{ms('HQNR')} |")
    lines.append("")
  return "\n".join(lines)


def plot(results, path) -> str | None:
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
  except ImportError:
    return "matplotlib not installed (pip install -e '.[bench]'): no plot"
  scenes = sorted({s for r in results for s in r["scores"]})
  fig, axes = plt.subplots(len(scenes), 2, figsize=(10, 3.5 * len(scenes)), squeeze=False)
  for row, scene in enumerate(scenes):
    for col, x_key in enumerate(("steps", "seconds")):
      ax = axes[row][col]
      for model in MODELS:  # the mean over the finished seeds of each multiple
        points = {}
        for r in results:
          if r["model"] == model:
            points.setdefault(r["multiple"], []).append((r[x_key], r["scores"][scene]["Q2n"]))
        if points:
          xy = sorted(tuple(np.mean(v, axis=0)) for v in points.values())
          ax.plot([x for x, _ in xy], [y for _, y in xy], "o-", label=model)
      ax.set_xscale("log")
      ax.set_xlabel("training steps" if x_key == "steps" else "training seconds (2 cores)")
      ax.set_ylabel(f"Q4, {scene} test part")
      ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  return None


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--multiples", type=_ints, default=[1, 4, 16])
  p.add_argument("--seeds", type=_ints, default=[0, 1])
  p.add_argument("--models", default="SRINO,FusionNet,PNN")
  p.add_argument("--runs", default="runs/curve", help="folder of the workdirs (resumed)")
  p.add_argument("--realdata", default="../shared/realdata")
  p.add_argument("--report-only", action="store_true", help="train nothing: score and plot "
                 "the finished runs")
  p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                 help="a config override of every run (before the scaling), e.g. for a smoke "
                 "test: --set train.stage1_steps=20")
  p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "learning_curve"))
  args = p.parse_args(argv)
  if not pathlib.Path(args.realdata).is_dir():
    print(f"[skipped] no real-data folder {args.realdata}")
    return 0
  command = "python benchmarks/learning_curve.py " + " ".join(
      argv if argv is not None else sys.argv[1:])
  results, parts = [], None
  # Cheapest first: every finished point is reported even if a session ends mid-way.
  plan = sorted(((m, model, seed) for m in args.multiples
                 for model in args.models.split(",") for seed in args.seeds))
  for multiple, model, seed in plan:
    run = make_run(args, model, multiple, seed)
    if args.report_only and not _finished(run, model):
      continue
    print(f"{model} x{multiple} seed {seed}", flush=True)
    seconds = train(run, model) if not args.report_only else json.load(
        open(_seconds_file(run)))["seconds"]
    parts = parts or _test_parts(run)
    steps = sum(run.stage_steps(s) for s in MODELS[model])
    results.append({"model": model, "multiple": multiple, "seed": seed, "steps": steps,
                    "seconds": seconds, "workdir": run.workdir,
                    "scores": score(run, model, parts)})
    write_text_atomic(args.out + ".json", json.dumps({"command": command,
                                                      "results": results}, indent=1))
    write_text_atomic(args.out + ".md", _markdown(results, command))
  note = plot(results, args.out + ".png") if results else "nothing finished yet"
  print(_markdown(results, command) + ("" if note is None else f"\n({note})"))
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
