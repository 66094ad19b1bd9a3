r"""SRINO, the learned and the classical baselines on held-out real imagery (issue 9).

  python benchmarks/real_data.py [--runs runs/bench] [--srino-seeds 0,1] \
      [--learned-seeds 0,1,2] [--nolocal-seeds 0] [--no-train] [--skip-wv2]

Writes benchmarks/results/real_data.{json,md}. Scenes (from --realdata, default
../shared/realdata; skipped with a message when absent):

  GeoEye-1, IKONOS  4-band model (configs/real4.py). Reduced resolution: the held-out block
                    (bottom quarter of the rows, never a training patch) Wald-reduced on its
                    own (MS 20x80 -> 80x320). Full resolution: the held-out block's left half
                    (MS 80x160, PAN 320x640).
  WorldView-2       8-band model (configs/demo.py: synthetic WV3 + the real WV3 example).
                    Evaluation only. Reduced: the Wald reduction of the whole scene (MS 80x80 ->
                    320x320); full: the bottom quarter's left half (MS 80x160, PAN 320x640).

Rows: every classical baseline; PNN and FusionNet (mean ± std over --learned-seeds training
seeds); SRINO (over --srino-seeds); SRINO without local operators (--nolocal-seeds). Each
(config, seed) trains in its own workdir under --runs (resumed when it exists; --no-train
uses only what is there). The ± of a learned row is the spread over seeds of the per-scene
index; a classical row has one value per scene. Also: the spread of SRINO's K samples (the
mean per-pixel std) and SRINO's 1-step DDIM (its first-step prediction) beside the 25 steps.
"""

import argparse
import json
import os
import pathlib
import sys
import time

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # configs/

from srino_jax import baselines, inference, metrics, sensors  # noqa: E402
from srino_jax.atomic import write_text_atomic  # noqa: E402
from srino_jax.data.holdout import HoldOut, split_scene  # noqa: E402
from srino_jax.data.realscenes import RealScene  # noqa: E402
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene  # noqa: E402
from srino_jax.training import configfile, loop, stages  # noqa: E402
from srino_jax.training.run import Run  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
WV2 = "pypansharpening_imgWV2.mat"
INDICES = ("Q2n", "SAM", "ERGAS", "SCC", "PSNR", "D_lambda_K", "D_s", "HQNR")


def _ints(text):
  return [int(x) for x in text.split(",") if x.strip()]


def _config(name, seed, local, realdata):
  overrides = [f"seed={seed}", f"data.realdata={realdata}"]
  if not local:
    overrides.append("model.local_operators=False")
  return configfile.load_config(str(ROOT / "configs" / f"{name}.py"), overrides)


def _workdir(runs, name, seed, local):
  return os.path.join(runs, f"{name}{'' if local else '_nolocal'}_s{seed}")


def _finished(config, workdir, stage):
  """Whether `stage` trained to its configured step count in `workdir`."""
  last = os.path.join(workdir, "checkpoints", stage, "last")
  steps = [int(n) for n in os.listdir(last) if n.isdigit()] if os.path.isdir(last) else []
  return bool(steps) and max(steps) >= Run.from_config(config).stage_steps(stage)


def _train(config, workdir, todo, allow):
  if not allow:
    return all(_finished(config, workdir, s) for s in todo)
  t0 = time.perf_counter()
  run = Run.from_config(config, workdir)
  loop.prepare_data(run)
  loop.train(run, todo, progress=False)
  print(f"  trained {','.join(todo)} in {workdir} ({time.perf_counter() - t0:.0f} s)",
        flush=True)
  return True


def _models(args, name):
  """[(label, seed, Run, params)] of every model to evaluate for config `name`."""
  out = []
  plan = [("SRINO", s, True, stages.SRINO_STAGES) for s in args.srino_seeds]
  plan += [("SRINO no-local", s, False, stages.SRINO_STAGES) for s in args.nolocal_seeds]
  plan += [(stages.get_stage(stage).label, s, True, (stage,)) for s in args.learned_seeds
           for stage in stages.LEARNED_STAGES]
  for label, seed, local, todo in plan:
    config = _config(name, seed, local, args.realdata)
    workdir = _workdir(args.runs, name, seed, local)
    if not _train(config, workdir, todo, not args.no_train):
      print(f"  [missing] {label} seed {seed}: no checkpoint in {workdir}")
      continue
    run = Run.load(workdir, stage=todo[-1])
    out.append((label, seed, run, run.params()))
  return out


def _scenes(args):
  """[(title, sensor, reduced data, full data, model config name)] in model units."""
  out = []
  for name in ("geoeye1", "ikonos"):
    s = RealScene(name, args.realdata, HoldOut(0.25, "bottom"))
    full = {k: v[:, :, :v.shape[2] // 2] for k, v in s.heldout_batch("full").items()}
    out.append((f"{s.sensor.name} held-out block", s.sensor, s.heldout_batch("reduced"),
                full, "real4"))
  path = pathlib.Path(args.realdata) / WV2
  if args.skip_wv2 or not path.is_file():
    print(f"[skipped] WV2 scene {path}" + (" (--skip-wv2)" if args.skip_wv2 else " not found"))
    return out
  scene = read_mat_scene(path)
  sensor = sensors.get_sensor("wv2", bits=scene.get("bits"))
  _, held = split_scene(scene, HoldOut(0.25, "bottom"))
  held = {"ms": held["ms"][:, :80], "pan": held["pan"][:, :320]}

  def units(d):
    return {k: sensor.to_model(v)[None] for k, v in d.items() if k in ("gt", "ms", "lms", "pan")}

  out.append(("WV2 (evaluation only)", sensor, units(reduce_scene(scene, sensor)),
              units(full_scene(held)), "demo"))
  return out


def _aggregate(rows, label_seeds):
  """Merges "<label>#<seed>" rows: mean over seeds of each index; std over seeds."""
  merged, groups = [], {}
  for row in rows:
    base = row["method"].split("#")[0]
    if "#" not in row["method"]:
      merged.append(row)
      continue
    groups.setdefault(base, []).append(row)
  for base, group in groups.items():
    names = group[0]["indices"]
    per_seed = {k: [r["mean"][k] for r in group] for k in names}
    merged.append({**group[0], "method": f"{base} ({len(group)} seed{'s' * (len(group) > 1)})",
                   "mean": {k: float(np.mean(v)) for k, v in per_seed.items()},
                   "std": {k: float(np.std(v)) for k, v in per_seed.items()},
                   "per_seed": per_seed, "seeds": label_seeds[base]})
  return merged


def _evaluate(scene, models, args):
  title, sensor, reduced, full, _ = scene
  out = {"scene": title, "tables": {}, "extras": {}}
  for scale, data in (("reduced", reduced), ("full", full)):
    fused, seeds = {}, {}
    for label, seed, run, params in models:
      fuse = inference.make_fuser(run, params)
      fused[f"{label}#{seed}"] = inference.fuse_scenes(fuse, data, jax.random.key(seed))[0]
      seeds.setdefault(label, []).append(seed)
    dn = {k: sensor.to_dn(v) for k, v in data.items()}
    rows = metrics.evaluate_methods(
        dn, sensor, baselines.available_methods(), clip=True,
        fused={k: sensor.to_dn(v) for k, v in fused.items()})
    out["tables"][scale] = _aggregate(rows, seeds)
  srino = [(run, params, seed) for label, seed, run, params in models if label == "SRINO"]
  if srino:
    run, params, seed = srino[0]
    key = jax.random.key(seed)
    mean, std = inference.fuse_scenes(inference.make_fuser(run, params, args.samples),
                                      reduced, key)
    one, _ = inference.fuse_scenes(inference.make_fuser(run, params, steps=1), reduced, key)
    dn = {k: sensor.to_dn(v) for k, v in reduced.items()}
    rows = metrics.evaluate_methods(dn, sensor, (), clip=True, fused={
        f"SRINO mean of K={args.samples}": sensor.to_dn(mean),
        "SRINO 1-step DDIM": sensor.to_dn(one)})
    out["extras"] = {
        "seed": seed, "K": args.samples,
        "mean_pixel_std": float(np.mean(std)),
        "mean_pixel_std_relative": float(np.mean(std) / np.mean(np.abs(mean))),
        "rows": rows}
  return out


def _markdown(results, command, meta):
  lines = ["# Real data: held-out blocks (GeoEye-1, IKONOS) and WorldView-2", "",
           f"Command: `{command}`", "", meta, ""]
  for res in results:
    if res.get("command", command) != command:
      lines += [f"({res['scene']}: `{res['command']}`. {res['meta']})", ""]
    for scale, rows in res["tables"].items():
      lines += [f"## {res['scene']}, {scale} resolution", "", "```",
                metrics.format_table(rows), "```", ""]
    ex = res["extras"]
    if ex:
      share = 100 * ex["mean_pixel_std_relative"]
      lines += [f"SRINO seed {ex['seed']}: mean per-pixel std over K={ex['K']} samples "
                f"{ex['mean_pixel_std']:.5f} (model units; {share:.2f} % of the mean "
                f"intensity); the mean of the K samples and the 1-step DDIM (the first-step "
                f"prediction) scored:", "", "```", metrics.format_table(ex["rows"]), "```", ""]
  return "\n".join(lines)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--runs", default="runs/bench", help="folder of the per-(config, seed) "
                 "workdirs (resumed)")
  p.add_argument("--realdata", default="../shared/realdata", help="folder of the real scenes")
  p.add_argument("--srino-seeds", type=_ints, default=[0, 1], help="SRINO training seeds")
  p.add_argument("--learned-seeds", type=_ints, default=[0, 1, 2],
                 help="PNN and FusionNet training seeds")
  p.add_argument("--nolocal-seeds", type=_ints, default=[0],
                 help="seeds of SRINO without local operators")
  p.add_argument("--samples", type=int, default=8, help="K samples for the spread")
  p.add_argument("--no-train", action="store_true", help="evaluate only the trained workdirs")
  p.add_argument("--skip-wv2", action="store_true", help="leave out the WV2 scene")
  p.add_argument("--only", choices=("real4", "demo"), help="evaluate only the scenes of this "
                 "model config (real4: GeoEye-1 and IKONOS; demo: WV2) and replace just their "
                 "entries in an existing results file (the others keep their command)")
  p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "real_data"),
                 help="output path without extension (.json and .md are written)")
  args = p.parse_args(argv)
  if not pathlib.Path(args.realdata).is_dir():
    print(f"[skipped] no real-data folder {args.realdata} (set --realdata)")
    return 0
  t0 = time.perf_counter()
  results, models = [], {}
  for scene in _scenes(args):
    name = scene[4]
    if args.only and name != args.only:
      continue
    if name not in models:
      print(f"models of configs/{name}.py", flush=True)
      models[name] = _models(args, name)
    print(f"evaluating {scene[0]}", flush=True)
    results.append(_evaluate(scene, models[name], args))
  command = "python benchmarks/real_data.py " + " ".join(argv if argv is not None
                                                          else sys.argv[1:])
  meta = (f"Seeds: SRINO {args.srino_seeds}, SRINO no-local {args.nolocal_seeds}, PNN and "
          f"FusionNet {args.learned_seeds}; rows with fewer seeds than asked had missing "
          f"checkpoints (--no-train). Fused images clipped to [0, 2^bits]; no border cut. "
          f"Wall time {time.perf_counter() - t0:.0f} s.")
  for res in results:
    res["command"], res["meta"] = command, meta
  if args.only and os.path.isfile(args.out + ".json"):
    # Keep the other scenes' entries (each with the command that produced it).
    with open(args.out + ".json", encoding="utf-8") as f:
      old = json.load(f)
    fresh = {res["scene"] for res in results}
    kept = [{"command": old["command"], "meta": old["meta"], **res}
            for res in old["results"] if res["scene"] not in fresh]
    results = kept + results
  write_text_atomic(args.out + ".json", json.dumps(
      {"command": command, "meta": meta, "results": results}, indent=1))
  text = _markdown(results, command, meta)
  write_text_atomic(args.out + ".md", text)
  print(text)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
