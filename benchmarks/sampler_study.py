r"""The sampler and the EMA chosen on validation, reported on test (issue 16, item 3).

  python benchmarks/sampler_study.py --config real4 [--decays 0,0.99,0.998] [--seed 0]
  python benchmarks/sampler_study.py --config demo

For each EMA decay (0 = no EMA) a run of the config trains SRINO's stages (aux, stage1,
stage2) in its own workdir under --runs (resumed when it exists; --no-train uses what is
there). Then every setting of the grid

  weights  online, ema (runs with an EMA)
  steps    1, 2, 5, 10, 25 DDIM steps
  eta      0, 1
  K        1, 4, 8 samples, the fusion is their mean

fuses the validation data and is scored (Q2n, then SAM to break ties, mean over scenes):
real4: the validation parts of the GeoEye-1 and IKONOS held-out blocks (their left halves,
`config.data.holdout_test`); demo: the synthetic validation patches the run validates on.
The best setting on validation, and the config's current default beside it, are then
scored once on the test data (real4: the test parts, the right halves; demo: the synthetic
test scenes), never used to choose. The WorldView-2 scene is not read.

Writes benchmarks/results/sampler_study_<config>.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import json
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
from srino_jax.training import configfile, datasets, loop, stages  # noqa: E402
from srino_jax.training.run import Run  # noqa: E402

GRIDS = {"full": ((1, 2, 5, 10, 25), (0.0, 1.0), (1, 4, 8)),
         "quick": ((1, 2), (0.0,), (1, 2))}  # a smoke test of the script


def _floats(text):
  return [float(x) for x in text.split(",") if x.strip()]


def _run(args, decay: float) -> Run | None:
  overrides = [f"seed={args.seed}", f"data.realdata={args.realdata}",
               f"train.ema_decay={decay}", *args.set]
  if decay:
    overrides.append(f"train.ema_start={args.ema_start}")
  config = configfile.load_config(str(ROOT / "configs" / f"{args.config}.py"), overrides)
  workdir = pathlib.Path(args.runs) / f"{args.config}_ema{decay:g}_s{args.seed}"
  run = Run.from_config(config, str(workdir))
  if not args.no_train:
    t0 = time.perf_counter()
    loop.prepare_data(run)
    loop.train(run, stages.SRINO_STAGES, progress=False)
    print(f"  trained {workdir} ({time.perf_counter() - t0:.0f} s)", flush=True)
  elif not run.has_checkpoint("stage2"):
    print(f"  [missing] {workdir}")
    return None
  return Run.load(str(workdir))


def _data(run: Run) -> dict[str, list[tuple[str, dict, object]]]:
  """{"valid": [(name, data, sensor)], "test": [...]} in model units."""
  real = [s for s in run.sources if s.kind == "real"]
  if real and run.holdout.fraction > 0 and run.holdout.test > 0:
    out = {"valid": [], "test": []}
    for source in real:
      scene = RealScene(source.target, run.config.data.realdata, run.holdout)
      for part in out:
        out[part].append((scene.name, scene.heldout_batch("reduced", part), scene.sensor))
    return out
  valid = datasets.validation_set(run)  # what the run validates on
  test, test_sensor = inference.read_input(run.data_path("test"), run.config.sensor)
  return {"valid": [("synthetic valid", valid, run.sensor)],
          "test": [("synthetic test", test, test_sensor)]}


def _score(run, params, parts, weights, steps, eta, k, seed=0):
  """Mean over scenes of Q2n / SAM / PSNR of one setting, and the per-scene rows."""
  fuse = inference.make_fuser(run, params, k, steps, eta)
  per_scene = {}
  for name, data, sensor in parts:
    fused, _ = inference.fuse_scenes(fuse, data, jax.random.key(seed))
    scores = metrics.score_stack("reduced", sensor.to_dn(fused), sensor=sensor,
                                 gt=sensor.to_dn(data["gt"]), ratio=sensor.ratio, clip=True)
    per_scene[name] = {i: scores["mean"][i] for i in ("Q2n", "SAM", "PSNR", "ERGAS")}
  mean = {i: float(np.mean([s[i] for s in per_scene.values()])) for i in ("Q2n", "SAM",
                                                                           "PSNR", "ERGAS")}
  return {"weights": weights, "steps": steps, "eta": eta, "K": k, **mean,
          "per_scene": per_scene}


def study(args) -> dict:
  steps_grid, etas, ks = GRIDS[args.grid]
  out = {"config": args.config, "decays": {}, "overrides": args.set,
         "grid": {"steps": steps_grid, "eta": etas, "K": ks}}
  best = None
  for decay in args.decays:
    print(f"EMA decay {decay:g}", flush=True)
    run = _run(args, decay)
    if run is None:
      continue
    parts = _data(run)
    rows = []
    for weights in (("online", "ema") if decay else ("online",)):
      params = run.params(weights=weights)
      for steps, eta, k in itertools.product(steps_grid, etas, ks):
        row = _score(run, params, parts["valid"], weights, steps, eta, k)
        rows.append(row)
        print(f"  {weights:6s} steps {steps:2d} eta {eta:g} K {k}: Q2n {row['Q2n']:.4f} "
              f"SAM {row['SAM']:.3f}", flush=True)
    out["decays"][f"{decay:g}"] = {"workdir": run.workdir, "valid": rows}
    top = max(rows, key=lambda r: (round(r["Q2n"], 4), -r["SAM"]))
    if best is None or (round(top["Q2n"], 4), -top["SAM"]) > (round(best[1]["Q2n"], 4),
                                                              -best[1]["SAM"]):
      best = (decay, top, run, parts)
  if best is None:
    return out
  decay, top, run, parts = best
  default = Run.load(run.workdir)  # the config's own settings, as trained
  chosen = {k: top[k] for k in ("weights", "steps", "eta", "K")}
  test_chosen = _score(run, run.params(weights=top["weights"]), parts["test"],
                       top["weights"], top["steps"], top["eta"], top["K"])
  test_default = _score(default, default.params(weights="online"), parts["test"], "online",
                        25, 0.0, 1)
  out["chosen"] = {"ema_decay": decay, **chosen, "valid": {k: top[k] for k in ("Q2n", "SAM")},
                   "test": test_chosen}
  out["paper_sampler_test"] = test_default
  out["classical_test"] = classical_on_test(run)
  return out


def classical_on_test(run: Run) -> list[dict]:
  """Every classical method on the test data (mean over scenes of Q2n, SAM, PSNR, ERGAS)."""
  from srino_jax import baselines
  per_method = {}
  for name, data, sensor in _data(run)["test"]:
    dn = {k: sensor.to_dn(v) for k, v in data.items()}
    for row in metrics.evaluate_methods(dn, sensor, baselines.available_methods(), clip=True):
      per_method.setdefault(row["method"], []).append(
          {i: row["mean"][i] for i in ("Q2n", "SAM", "PSNR", "ERGAS")} | {"scene": name})
  return [{"method": m, **{i: float(np.mean([r[i] for r in rows])) for i in
                           ("Q2n", "SAM", "PSNR", "ERGAS")},
           "per_scene": {r["scene"]: {i: r[i] for i in ("Q2n", "SAM")} for r in rows}}
          for m, rows in per_method.items()]


def _markdown(res, command, seconds) -> str:
  lines = [f"# Sampler and EMA chosen on validation: configs/{res['config']}.py", "",
           f"Command: `{command}` ({seconds:.0f} s). Chosen by Q2n (then SAM) on the "
           "validation data; the test data scored once, for the chosen setting and for the "
           "paper's sampler (25 steps, eta 0, K = 1, online weights). Fused images clipped "
           "to [0, 2^bits]; no border cut; PSNR = the toolbox's mean over bands.", ""]
  for decay, entry in res["decays"].items():
    lines += [f"## EMA decay {decay} (validation)", "", "| weights | steps | eta | K | Q2n | "
              "SAM | PSNR |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['weights']} | {r['steps']} | {r['eta']:g} | {r['K']} | {r['Q2n']:.4f} | "
              f"{r['SAM']:.3f} | {r['PSNR']:.3f} |" for r in entry["valid"]]
    lines.append("")
  if "chosen" in res:
    c, p = res["chosen"], res["paper_sampler_test"]
    lines += ["## Chosen, and its test score", "",
              f"EMA decay {c['ema_decay']:g}, {c['weights']} weights, {c['steps']} steps, "
              f"eta {c['eta']:g}, K = {c['K']}: validation Q2n {c['valid']['Q2n']:.4f}, "
              f"SAM {c['valid']['SAM']:.3f}.", "",
              "| on test | Q2n | SAM | PSNR | ERGAS |", "|---|---|---|---|---|",
              f"| chosen | {c['test']['Q2n']:.4f} | {c['test']['SAM']:.3f} | "
              f"{c['test']['PSNR']:.3f} | {c['test']['ERGAS']:.3f} |",
              f"| paper sampler (same run, online) | {p['Q2n']:.4f} | {p['SAM']:.3f} | "
              f"{p['PSNR']:.3f} | {p['ERGAS']:.3f} |"]
    lines += [f"| {r['method']} | {r['Q2n']:.4f} | {r['SAM']:.3f} | {r['PSNR']:.3f} | "
              f"{r['ERGAS']:.3f} |" for r in res.get("classical_test", [])]
    lines.append("")
  return "\n".join(lines)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--config", choices=("real4", "demo"), default="real4")
  p.add_argument("--decays", type=_floats, default=[0.0, 0.99, 0.998],
                 help="EMA decays to train with (0 = no EMA)")
  p.add_argument("--ema-start", type=int, default=200, help="train.ema_start of the EMA runs")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--runs", default="runs/study", help="folder of the workdirs (resumed)")
  p.add_argument("--realdata", default="../shared/realdata")
  p.add_argument("--no-train", action="store_true", help="evaluate the trained workdirs only")
  p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                 help="a config override for every run, e.g. train.stage1_steps=20 (repeat)")
  p.add_argument("--add-classical", action="store_true", help="only add the classical "
                 "methods' test scores to an existing result file (its chosen run's data)")
  p.add_argument("--grid", choices=tuple(GRIDS), default="full",
                 help="the settings tried (quick: a smoke test)")
  p.add_argument("--out", default=None, help="output path without extension (default "
                 "benchmarks/results/sampler_study_<config>)")
  args = p.parse_args(argv)
  if args.config == "real4" and not pathlib.Path(args.realdata).is_dir():
    print(f"[skipped] no real-data folder {args.realdata}")
    return 0
  out = args.out or str(ROOT / "benchmarks" / "results" / f"sampler_study_{args.config}")
  if args.add_classical:
    with open(out + ".json", encoding="utf-8") as f:
      res = json.load(f)
    chosen = res["decays"][f"{res['chosen']['ema_decay']:g}"]["workdir"]
    res["classical_test"] = classical_on_test(Run.load(chosen))
    command, seconds = res.pop("command"), res.pop("seconds")
  else:
    t0 = time.perf_counter()
    res = study(args)
    seconds = time.perf_counter() - t0
    command = "python benchmarks/sampler_study.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
  write_text_atomic(out + ".json", json.dumps({"command": command, "seconds": seconds, **res},
                                              indent=1))
  text = _markdown(res, command, seconds)
  write_text_atomic(out + ".md", text)
  print(text)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
