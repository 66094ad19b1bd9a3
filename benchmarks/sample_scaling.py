"""Time of SRINO's 25-step stage-2 sample vs the image side, with and without local operators.

Run by hand, alone on the machine (CPU; about 15 minutes, 1024 x 1024 takes minutes per run):

  python benchmarks/sample_scaling.py --out benchmarks/results/sample_scaling.json

For each setting of `local_operators` (off = the pointwise operator, on = conv stem with
`--stem_blocks` blocks + depthwise 3x3 FFN convs) and PAN side S in `--sizes` (default 256,
512, 1024): the paper-recipe model (8 bands, d = 64, 4 layers, 4 heads, guidance "both",
adapter width 32), batch 1, the whole jitted `srino_jax.model.sample` (conditions once, then
one `lax.scan` over 25 DDIM steps with the residuals recomputed every step). Compilation is
excluded (lowered and compiled first); the minimum wall time over up to `--runs` runs is
reported (runs stop once 60 s are spent on one configuration). Per setting, the time ratio
per doubling of the side (4x the pixels: 4.0 = linear in pixels) and, per size, on / off.
Targets (issue 9, item 7): at most 16 s at 256 x 256 with local operators, and at most 4.4x
per doubling up to 1024 x 1024.

Output: JSON {"setup", "rows": [{"local_operators", "size", "time_s", "runs", "compile_s"}],
"doublings": [...], "on_over_off": [...]} and a Markdown table beside it (same stem, .md),
both written atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from srino_jax.model import init_params, sample  # noqa: E402
from srino_jax.training import configfile  # noqa: E402
from srino_jax.training.run import Run  # noqa: E402

BASE = pathlib.Path(__file__).resolve().parents[1] / "configs" / "base.py"
BANDS = 8  # the paper's recipe on WV3
_RECIPE = configfile.load_config(str(BASE), ["sensor=wv3"])
STEPS = _RECIPE.diffusion.sample_steps


def recipe_model(local: bool | None = None, stem_blocks: int | None = None):
  """The paper-recipe WV3 ModelConfig, with the local-operator switch and stem size set."""
  overrides = ["sensor=wv3"]
  if local is not None:
    overrides += [f"model.local_operators={local}", f"model.stem_blocks={stem_blocks}"]
  return Run.from_config(configfile.load_config(str(BASE), overrides)).model


def _batch(size: int) -> dict:
  k1, k2 = jax.random.split(jax.random.key(1))
  lms = jax.random.uniform(k1, (1, size, size, BANDS))
  pan = jnp.mean(lms, axis=-1, keepdims=True) + 0.01 * jax.random.normal(k2, (1, size, size, 1))
  return {"lms": lms, "pan": pan}


def time_sample(local: bool, size: int, runs: int, stem_blocks: int) -> dict:
  """Compiles and times one 25-step stage-2 sample at size x size."""
  cfg = recipe_model(local, stem_blocks)
  params = init_params(cfg, jax.random.key(0), pan_size=64)
  batch = _batch(size)
  key = jax.random.key(2)
  jsample = jax.jit(sample, static_argnums=(0, 4))
  start = time.perf_counter()
  compiled = jsample.lower(cfg, params, batch, key, STEPS, 0.0).compile()
  compile_s = time.perf_counter() - start
  times = []
  while len(times) < runs and sum(times) < 60.0:
    start = time.perf_counter()
    jax.block_until_ready(compiled(params, batch, key, 0.0))
    times.append(time.perf_counter() - start)
  return {"local_operators": local, "size": size, "time_s": round(min(times), 3),
          "runs": len(times), "all_s": [round(t, 3) for t in times],
          "compile_s": round(compile_s, 2), "load_average_1min": round(os.getloadavg()[0], 2)}


def summarise(rows: list[dict]) -> tuple[list[dict], list[dict]]:
  """Per-doubling time ratios per setting, and on / off per size."""
  by = {(r["local_operators"], r["size"]): r["time_s"] for r in rows}
  doublings = []
  for local in (False, True):
    sizes = sorted(s for (l, s) in by if l == local)
    for a, b in zip(sizes, sizes[1:]):
      doublings.append({"local_operators": local, "sizes": [a, b],
                        "ratio": round(by[(local, b)] / by[(local, a)], 3)})
  on_off = [{"size": s, "ratio": round(by[(True, s)] / by[(False, s)], 3)}
            for (l, s) in sorted(by) if l and (False, s) in by]
  return doublings, on_off


def markdown(out: dict) -> str:
  s = out["setup"]
  lines = [f"# 25-step stage-2 sample time (PAN S x S, {s['bands']} bands, d = {s['width']}, "
           f"{s['depth']} layers, guidance {s['guidance']}, batch 1, {s['backend']}, "
           f"{s['cpu_count']} cores)", "",
           "| local operators | S | time (s) | runs | compile (s) | load (1 min) |",
           "|---|---|---|---|---|---|"]
  for r in out["rows"]:
    lines.append(f"| {'on' if r['local_operators'] else 'off'} | {r['size']} | {r['time_s']:.2f} "
                 f"| {r['runs']} | {r['compile_s']:.1f} | {r['load_average_1min']} |")
  lines += ["", "| local operators | doubling | time ratio (4.0 = linear in pixels) |",
            "|---|---|---|"]
  for d in out["doublings"]:
    lines.append(f"| {'on' if d['local_operators'] else 'off'} | {d['sizes'][0]} -> "
                 f"{d['sizes'][1]} | {d['ratio']:.2f} |")
  lines += ["", "| S | on / off |", "|---|---|"]
  lines += [f"| {r['size']} | {r['ratio']:.2f} |" for r in out["on_over_off"]]
  lines += ["", f"Command: `{s['command']}`. {s['note']}".rstrip(), ""]
  return "\n".join(lines)


def _write(path: pathlib.Path, text: str) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
  with os.fdopen(fd, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", type=pathlib.Path, default=None,
                      help="JSON file for the results (a .md table is written beside it)")
  parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024],
                      help="PAN sides S to time")
  parser.add_argument("--runs", type=int, default=3, help="timed runs per configuration (max)")
  parser.add_argument("--stem_blocks", type=int, default=2, help="stem blocks when local is on")
  parser.add_argument("--local", choices=["both", "on", "off"], default="both",
                      help="which setting of local_operators to time")
  parser.add_argument("--note", default="", help="free text stored with the results "
                      "(e.g. what else was using the CPU)")
  args = parser.parse_args(argv)
  settings = {"both": (False, True), "on": (True,), "off": (False,)}[args.local]
  rows = []
  for size in args.sizes:  # off and on back to back per size: both see similar machine load
    for local in settings:
      rows.append(time_sample(local, size, args.runs, args.stem_blocks))
      print(json.dumps(rows[-1]), flush=True)
  doublings, on_off = summarise(rows)
  cfg = recipe_model()
  out = {"setup": {"bands": BANDS, "width": cfg.width, "depth": cfg.depth, "heads": cfg.heads,
                   "guidance": cfg.guidance, "adapter_width": cfg.adapter_width,
                   "stem_blocks": args.stem_blocks, "steps": STEPS, "batch": 1,
                   "backend": jax.default_backend(), "cpu_count": os.cpu_count(),
                   "machine": platform.machine(), "processor": platform.processor(),
                   "jax": jax.__version__, "command": "python benchmarks/sample_scaling.py "
                   + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
                   "note": args.note},
         "rows": rows, "doublings": doublings, "on_over_off": on_off}
  text = markdown(out)
  print(text)
  if args.out is not None:
    _write(args.out, json.dumps(out, indent=1))
    _write(args.out.with_suffix(".md"), text)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
  return out


if __name__ == "__main__":
  main()
