"""Whole-scene fusion cost: time and peak memory (VmHWM) of python -m srino_jax.scene's path,
and the tiled-vs-whole difference on a real 1024 x 1024 PAN scene (issue 10, items 3 and 8).

  python benchmarks/scene.py --cases classical,demo --sizes 4096      # the cheap cases
  python benchmarks/scene.py --cases paper --sizes 1024,2048          # heavy (minutes)
  python benchmarks/scene.py --overlap-study --run runs/real4          # item 3 (IKONOS)
  python benchmarks/scene.py --overlap-study --run runs/real4 --study-methods srino \
      --study-side 128 --steps 2 --no-save                              # a quick check

Every case runs in its own subprocess (a fresh VmHWM) on a synthetic WV3-like GeoTIFF pair
(8 bands, uint16, ratio 4; timing does not depend on the content) through the same
`fuse_pair` the command line uses. SRINO cases use randomly initialised parameters of the
demo-width (configs/demo.py) or paper-width (configs/wv3.py) model: the cost of sampling does
not depend on training. The overlap study's SRINO rows use a trained 4-band run (`--run`,
e.g. configs/real4.py; random demo-width parameters without it) on a --study-side crop with
--steps DDIM steps (25); its tiles share the whole scene's noise (positional noise, one
seed), so their difference from the whole scene is the model's seams alone, and the
seed-spread row (whole scene, seed 0 vs 1) is the noise-only reference. Results are merged
into benchmarks/results/scene.{json,md} (not with --no-save).
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REAL = ROOT.parent / "shared" / "realdata"
sys.path.insert(0, str(ROOT))  # this checkout's srino_jax and configs, not an installed one
CASES = {"classical": ("mtf-glp-hpm", None), "demo": ("srino", "configs/demo.py"),
         "paper": ("srino", "configs/wv3.py")}


def _write_pair(folder: pathlib.Path, size: int, bands: int = 8) -> tuple[str, str]:
  """A smooth random uint16 PAN + MS pair (EPSG:32633, 0.5 m / 2 m), written in strips."""
  import rasterio
  from rasterio.transform import Affine
  rng = np.random.default_rng(0)
  paths = []
  for name, n, c, px in (("pan", size, 1, 0.5), ("ms", size // 4, bands, 2.0)):
    path = folder / f"{name}.tif"
    with rasterio.open(path, "w", driver="GTiff", height=n, width=n, count=c, dtype="uint16",
                       crs="EPSG:32633", transform=Affine(px, 0, 5e5, 0, -px, 4e6),
                       tiled=True, blockxsize=256, blockysize=256) as dst:
      for r0 in range(0, n, 256):
        rows = min(256, n - r0)
        data = rng.integers(200, 1800, (c, rows, n)).astype("uint16")
        dst.write(data, window=rasterio.windows.Window(0, r0, n, rows))
    paths.append(str(path))
  return tuple(paths)


def _random_run(config: str, sensor: str | None = None):
  """(run, random parameters) of a config file (the one place that builds a run here)."""
  from srino_jax.scene import methods
  from srino_jax.training import configfile
  from srino_jax.training.run import Run
  run = Run.from_config(configfile.load_config(str(ROOT / config),
                                               [f"sensor={sensor}"] if sensor else []))
  return run, methods.random_srino_params(run)


def _method(case: str, samples: int = 1, steps: int | None = None):
  from srino_jax.scene import methods
  name, config = CASES[case]
  if name != "srino":
    return methods.classical_method(name, methods.generic_sensor(8, "uint16"))
  from srino_jax.scene.__main__ import _enable_compile_cache
  _enable_compile_cache()  # as the command line does: tiles after the first skip the compile
  run, params = _random_run(config)
  return methods.srino_method(run, params, num_samples=samples, steps=steps)


def worker(case: str, size: int, mode: str, budget: str, tile: str, steps: int | None
           ) -> dict:
  """One measurement (runs in a fresh process). mode "whole" is skipped when the scene's
  estimate exceeds the budget; "tiled" uses --tile (auto: the largest tile that fits)."""
  from srino_jax.data import geotiff
  from srino_jax.scene import fuse, memory
  row = {"case": case, "size": size, "mode": mode, "steps": steps or 25}
  method = _method(case, steps=steps)
  budget_b = memory.parse_size(budget)
  if mode == "whole":
    whole = memory._estimate(method, size, size, size, method.sensor.bands)
    if whole > budget_b:
      return {**row, "skipped": f"whole needs ~{whole / 2 ** 30:.1f} GiB > {budget}"}
    plan = memory.plan_fusion(method, size, size, 4, 2 ** 40)
  else:
    if tile == "auto":  # the largest tile that fits, but never the whole scene
      auto = memory.plan_fusion(method, size, size, 4, budget_b)
      tile = min(auto.tile_rows, size // 2 + 64)
    plan = memory.plan_fusion(method, size, size, 4, budget_b, tile=int(tile))
  with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
    pan, ms = _write_pair(pathlib.Path(tmp), size)
    pair = geotiff.open_pair(pan, ms)
    t0 = time.perf_counter()
    summary = fuse.fuse_pair(pair, method, plan, pathlib.Path(tmp) / "out.tif",
                             progress=False)
  return {**row, "tiles": summary["tiles"], "tile": summary["tile"][0],
          "overlap": plan.overlap, "seconds": round(time.perf_counter() - t0, 2),
          "peak_gib": round(summary["peak_bytes"] / 2 ** 30, 3),
          "estimated_gib": round(plan.peak_bytes / 2 ** 30, 3),
          "estimated_seconds": round(plan.seconds, 1)}


def _study_pair(tmp: pathlib.Path, side: int) -> tuple[str, str]:
  """GeoTIFFs of the IKONOS scene's top-left side x side PAN (and its MS), made-up CRS."""
  from rasterio.transform import Affine
  from srino_jax.data.geotiff import write_geotiff
  from srino_jax.data.products import read_mat_scene
  scene = read_mat_scene(REAL / "grip_imgIK.mat")
  paths = []
  for name, img, px in (("pan", scene["pan"][:side, :side], 1.0),
                        ("ms", scene["ms"][:side // 4, :side // 4], 4.0)):
    profile = {"crs": "EPSG:32633", "transform": Affine(px, 0, 5e5, 0, -px, 4e6)}
    paths.append(str(write_geotiff(tmp / f"{name}{side}.tif", img, profile, dtype="uint16")))
  return tuple(paths)


STUDY_METHODS = ("mtf-glp-hpm", "gsa", "exp", "srino")


def _study_srino(run_dir: str | None):
  """(run, params, label) of the study's SRINO: a trained 4-band run, else random
  demo-width parameters (the architecture's seams, not a trained model's)."""
  if run_dir is None:
    return (*_random_run("configs/demo.py", "ikonos"), "demo width, random parameters")
  from srino_jax.training.run import Run
  run = Run.load(run_dir)
  params = run.params()
  bands = run.sensor.bands
  if bands != 4:
    raise SystemExit(f"--run {run_dir}: a {bands}-band model; the study fuses the 4-band "
                     "IKONOS scene (train e.g. configs/real4.py)")
  return run, params, f"trained run {run_dir}"


def overlap_study(overlaps=(0, 32, 64, 96, 128), run_dir: str | None = None,
                  side: int = 512, steps: int = 25, names=STUDY_METHODS) -> list[dict]:
  """Tiled vs whole on the IKONOS scene (never WV2: the default overlap is chosen from it):
  classical methods on its 1024 x 1024 PAN with 256^2 tiles, and SRINO (`_study_srino`,
  `steps` DDIM steps, seed 0 for every tile) on its side x side crop with tiles of
  min(256, side / 2), overlaps smaller than the tile."""
  from srino_jax.metrics.q2n import q2n
  from srino_jax.data import geotiff
  from srino_jax.scene import fuse, memory, methods, tiling
  import rasterio
  generic = methods.generic_sensor(4, "uint16")
  cases = [(methods.classical_method(n, generic), 1024, 256, {})
           for n in names if n != "srino"]
  if "srino" in names:
    run, params, label = _study_srino(run_dir)
    srino = methods.srino_method(run, params, sensor="ikonos", steps=steps)
    cases.append((srino, side, min(256, side // 2),
                  {"model": label, "steps": steps, "noise": "shared"}))
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    for method, side, tile, extra in cases:
      pair = geotiff.open_pair(*_study_pair(tmp, side))
      outs, actual = {}, {}
      study = tuple(ov for ov in overlaps if ov < tile)
      for ov in (None,) + study:
        plan = memory.plan_fusion(method, side, side, 4, 2 ** 33,
                                  tile=None if ov is None else tile, overlap=ov or 0)
        starts = tiling.tile_starts(side, plan.tile_rows, plan.overlap, 4)
        actual[ov] = min((tile - (b - a) for a, b in zip(starts, starts[1:])), default=0)
        out = tmp / f"{method.name}_{ov}.tif"
        fuse.fuse_pair(pair, method, plan, out, progress=False)
        with rasterio.open(out) as o:
          outs[ov] = np.moveaxis(o.read(), 0, -1).astype(np.float64)
      for ov in study:
        d = np.abs(outs[ov] - outs[None])
        rows.append({"method": method.name, "side": side, "tile": tile, "overlap": ov,
                     "actual_overlap": int(actual[ov]),
                     "max_abs_dn": round(float(d.max()), 2),
                     "mean_abs_dn": round(float(d.mean()), 4),
                     "q2n_tiled_vs_whole": round(float(q2n(outs[None], outs[ov])), 5),
                     **extra})
        print(rows[-1], flush=True)
  return rows


def seed_spread(side: int = 512, run_dir: str | None = None, steps: int = 25) -> dict:
  """SRINO whole vs whole with another noise seed: the noise-only reference for the study's
  tiled-vs-whole differences (tiles share the whole scene's noise, so what they add beyond
  rounding is the model's seams)."""
  from srino_jax.metrics.q2n import q2n
  from srino_jax.data import geotiff
  from srino_jax.scene import fuse, memory, methods
  import rasterio
  run, params, label = _study_srino(run_dir)
  outs = []
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    pair = geotiff.open_pair(*_study_pair(tmp, side))
    for seed in (0, 1):
      method = methods.srino_method(run, params, sensor="ikonos", steps=steps, seed=seed)
      plan = memory.plan_fusion(method, side, side, 4, 2 ** 33)
      fuse.fuse_pair(pair, method, plan, tmp / f"{seed}.tif", progress=False)
      with rasterio.open(tmp / f"{seed}.tif") as o:
        outs.append(np.moveaxis(o.read(), 0, -1).astype(np.float64))
  d = np.abs(outs[1] - outs[0])
  row = {"method": "srino", "side": side, "tile": side, "overlap": "seed 0 vs 1 (whole)",
         "actual_overlap": "-", "max_abs_dn": round(float(d.max()), 2),
         "mean_abs_dn": round(float(d.mean()), 4),
         "q2n_tiled_vs_whole": round(float(q2n(outs[0], outs[1])), 5),
         "model": label, "steps": steps}
  print(row, flush=True)
  return row


def _srino_label(r: dict) -> str:
  """The method column of an overlap row; rows without a model were measured before tiles
  shared their noise (demo width, random parameters, 5 steps, one key per tile)."""
  if r["method"] != "srino":
    return r["method"]
  if "model" not in r:
    return "srino (demo width, random parameters, 5 steps, per-tile noise)"
  noise = f", {r['noise']} noise" if "noise" in r else ""
  return f"srino ({r['model']}, {r['steps']} steps{noise})"


def _merge(key: str, rows: list[dict]) -> None:
  RESULTS.mkdir(parents=True, exist_ok=True)
  path = RESULTS / "scene.json"
  data = json.loads(path.read_text()) if path.exists() else {}
  data[key] = rows
  path.write_text(json.dumps(data, indent=1))
  lines = ["# Whole-scene fusion (benchmarks/scene.py)", ""]
  if data.get("cases"):
    lines += ["| case | PAN size | steps | mode | tiles (side, overlap) | seconds | "
              "peak GiB (VmHWM) | estimated GiB / s |", "|---|---|---|---|---|---|---|---|"]
    for r in data["cases"]:
      if "skipped" in r:
        lines.append(f"| {r['case']} | {r['size']}^2 | {r['steps']} | {r['mode']} | - | "
                     f"skipped: {r['skipped']} | - | - |")
      else:
        lines.append(f"| {r['case']} | {r['size']}^2 | {r['steps']} | {r['mode']} | "
                     f"{r['tiles']} ({r['tile']}, {r['overlap']}) | {r['seconds']} | "
                     f"{r['peak_gib']} | {r['estimated_gib']} / {r['estimated_seconds']} |")
  if data.get("overlap"):
    lines += ["", "Tiled vs whole on the IKONOS scene (uint16 DN); SRINO's model, steps and "
              "noise in the method column:", "",
              "| method | PAN side | tile | --overlap (actual) | max abs DN | mean abs DN | "
              "Q4 tiled vs whole |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {_srino_label(r)} | {r['side']} | {r['tile']} | {r['overlap']} "
              f"({r['actual_overlap']}) | {r['max_abs_dn']} | {r['mean_abs_dn']} | "
              f"{r['q2n_tiled_vs_whole']} |" for r in data["overlap"]]
  (RESULTS / "scene.md").write_text("\n".join(lines) + "\n")


def main():
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--cases", default="classical,demo", help="classical,demo,paper")
  p.add_argument("--sizes", default="4096", help="PAN sides, comma-separated")
  p.add_argument("--modes", default="whole,tiled", help="whole,tiled")
  p.add_argument("--budget", default="6G", help="memory budget (whole runs are skipped "
                 "when their estimate exceeds it)")
  p.add_argument("--tile", default="auto", help="tile side of the tiled runs (auto: the "
                 "largest that fits the budget, at most half the scene plus the overlap)")
  p.add_argument("--steps", type=int, help="SRINO DDIM steps (default 25); time scales "
                 "linearly with it, memory does not")
  p.add_argument("--overlap-study", action="store_true", help="item 3 on the IKONOS scene")
  p.add_argument("--seed-spread", action="store_true",
                 help="SRINO whole vs whole with another seed (the study's noise floor)")
  p.add_argument("--run", help="overlap study / seed spread: a trained 4-band run folder "
                 "(e.g. configs/real4.py's) for the SRINO rows (default: random demo-width "
                 "parameters)")
  p.add_argument("--study-side", type=int, default=512,
                 help="PAN side of the SRINO crop of the IKONOS scene (default 512)")
  p.add_argument("--study-methods", default=",".join(STUDY_METHODS),
                 help="methods of the overlap study (default: all); rows of the others "
                 "are kept in the results")
  p.add_argument("--no-save", action="store_true",
                 help="overlap study / seed spread: print the rows, do not merge them")
  p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.worker:
    case, size, mode, budget = args.worker
    print(json.dumps(worker(case, int(size), mode, budget, args.tile, args.steps)))
    return
  if args.overlap_study or args.seed_spread:
    steps = args.steps or 25
    old = (json.loads((RESULTS / "scene.json").read_text()).get("overlap", [])
           if (RESULTS / "scene.json").exists() else [])
    is_seed = lambda r: str(r["overlap"]).startswith("seed")  # noqa: E731
    if args.overlap_study:
      names = tuple(args.study_methods.split(","))
      new = overlap_study(run_dir=args.run, side=args.study_side, steps=steps, names=names)
      old = [r for r in old if is_seed(r) or r["method"] not in names]
    else:
      new = [seed_spread(args.study_side, args.run, steps)]
      old = [r for r in old if not is_seed(r)]
    if not args.no_save:
      order = {m: i for i, m in enumerate(STUDY_METHODS)}
      rows = sorted(old + new, key=lambda r: (is_seed(r), order.get(r["method"], 9)))
      _merge("overlap", rows)
    return
  rows = []
  old = json.loads((RESULTS / "scene.json").read_text()).get("cases", []) \
      if (RESULTS / "scene.json").exists() else []
  for case in args.cases.split(","):
    for size in map(int, args.sizes.split(",")):
      for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--worker", case, str(size), mode, args.budget,
               "--tile", args.tile] + (["--steps", str(args.steps)] if args.steps else [])
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if res.returncode:
          row = {"case": case, "size": size, "mode": mode, "error": res.stderr[-300:]}
        else:
          row = json.loads(res.stdout.strip().splitlines()[-1])
        print(row, flush=True)
        rows.append(row)
  new = {(r["case"], r["size"], r["mode"], r.get("steps")) for r in rows}
  keep = [r for r in old if (r["case"], r["size"], r["mode"], r.get("steps")) not in new]
  _merge("cases", [r for r in keep + rows if "error" not in r])


if __name__ == "__main__":
  main()
