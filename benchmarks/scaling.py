"""Scaling of the denoiser forward pass: Galerkin (O(N)) vs softmax attention (O(N^2)).

Run by hand (CPU, a few minutes; `--quick` stops at 256 x 256):

  python benchmarks/scaling.py --out benchmarks/results/scaling.json

For each backbone and PAN size S (32 .. 512, 1024 for Galerkin; S x S pixels, batch 1, 8 bands, default width 64, depth 4,
4 heads) one `jax.jit` forward of the backbone is compiled; XLA's temporary memory is read
from `compiled.memory_analysis().temp_size_in_bytes` and the median wall time of a few runs
is measured. A configuration whose compile-time temporary memory exceeds `--max_temp_gib`
(default 8 GiB) is not run: its row has time_s null and the estimate. That failure is the
paper's efficiency point: softmax attention stores a (heads, N, N) matrix.
The log-log slope between the two largest sizes each backbone ran (in pixels N = S^2;
1 = linear, 2 = quadratic), and the compile time of the one-scan DDIM sampler with the
Galerkin backbone at 25 and 100 steps (about equal) are reported too.

With `--sample`, the 25-step stage-2 sample of the paper-recipe model (8 bands, d = 64,
4 layers, guidance both) is timed too at 256, 512, 1024 with local operators off and on
(`sample_scaling.py`, which also runs alone and writes its own JSON + Markdown table):

  python benchmarks/scaling.py --sample --out benchmarks/results/scaling.json

Output: a JSON list of rows, written atomically:
  {"kind": "forward", "backbone", "size", "pixels", "time_s", "temp_bytes", "compile_s", "runs"}
  {"kind": "slope", "backbone", "sizes", "time_slope", "temp_slope"}
  {"kind": "sampler_compile", "backbone", "size", "steps", "compile_s", "time_s"}
  {"kind": "sample", "local_operators", "size", "time_s", ...}      (with --sample)
  {"kind": "sample_doubling", "local_operators", "sizes", "ratio"}  (with --sample)
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from srino_jax.operator import make_backbone  # noqa: E402
from srino_jax.sampler import ddim_sample  # noqa: E402
from srino_jax.schedule import cosine_alpha_bar  # noqa: E402

BANDS = 8
GIB = 2**30


def _inputs(size: int, key: jax.Array):
  """x_t (1, S, S, 8) noise; cond (1, S, S, 9) = [H, PAN] stand-in; t (1,) int32."""
  k1, k2 = jax.random.split(key)
  x_t = jax.random.normal(k1, (1, size, size, BANDS))
  cond = jax.random.uniform(k2, (1, size, size, BANDS + 1))
  return x_t, cond, jnp.array([250], jnp.int32)


def _init(name: str, key: jax.Array):
  """Backbone and params (resolution independent, so initialised on a 16 x 16 grid)."""
  model = make_backbone(name, BANDS)
  return model, model.init(key, *_inputs(16, key))


def bench_forward(name: str, size: int, max_temp: float, runs: int, key: jax.Array) -> dict:
  """Compiles one forward at S x S, reads its temp memory, times it unless too large."""
  model, params = _init(name, key)
  x_t, cond, t = _inputs(size, key)
  start = time.perf_counter()
  compiled = jax.jit(model.apply).lower(params, x_t, cond, t).compile()
  compile_s = time.perf_counter() - start
  temp = int(compiled.memory_analysis().temp_size_in_bytes)
  row = {"kind": "forward", "backbone": name, "size": size, "pixels": size * size,
         "time_s": None, "temp_bytes": temp, "compile_s": round(compile_s, 3), "runs": 0}
  if temp > max_temp:
    row["note"] = f"not run: temporary memory {temp / GIB:.1f} GiB > {max_temp / GIB:.0f} GiB"
    return row
  jax.block_until_ready(compiled(params, x_t, cond, t))  # warm-up
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    jax.block_until_ready(compiled(params, x_t, cond, t))
    times.append(time.perf_counter() - start)
    if sum(times) > 60.0:  # a slow configuration: a few runs are enough for a median
      break
  row.update(time_s=statistics.median(times), runs=len(times))
  return row


def _slope(a: dict, b: dict, field: str) -> float:
  return round(float(np.log(b[field] / a[field]) / np.log(b["pixels"] / a["pixels"])), 3)


def loglog_slope(rows: list[dict], name: str) -> dict | None:
  """Slopes of log(time), log(temp) vs log(pixels) between the two largest sizes run.

  `temp_slope_compiled` uses the two largest sizes compiled (run or not): the compile-time
  estimate exists even where the forward would not fit in memory.
  """
  mine = sorted((r for r in rows if r["backbone"] == name and r["kind"] == "forward"),
                key=lambda r: r["size"])
  ran = [r for r in mine if r["time_s"] is not None]
  if len(ran) < 2:
    return None
  a, b = ran[-2], ran[-1]
  return {"kind": "slope", "backbone": name, "sizes": [a["size"], b["size"]],
          "time_slope": _slope(a, b, "time_s"), "temp_slope": _slope(a, b, "temp_bytes"),
          "sizes_compiled": [mine[-2]["size"], mine[-1]["size"]],
          "temp_slope_compiled": _slope(mine[-2], mine[-1], "temp_bytes")}


def bench_sampler_compile(steps: int, size: int, key: jax.Array, repeats: int = 3) -> dict:
  """Trace + compile time (median of `repeats` fresh jits) and run time of the jitted
  one-scan DDIM sampler with the Galerkin denoiser."""
  model, params = _init("galerkin", key)
  x_T, cond, _ = _inputs(size, key)
  alpha_bar = cosine_alpha_bar()  # the paper's T = 500

  def sample(params, x_T, cond):
    predict = lambda x_t, t, x0_prev: model.apply(params, x_t, cond, t)
    return ddim_sample(predict, x_T, alpha_bar, num_steps=steps)

  compile_times = []
  for _ in range(repeats):
    start = time.perf_counter()
    # A new function object each time, so nothing is reused from an earlier compile.
    compiled = jax.jit(lambda *a: sample(*a)).lower(params, x_T, cond).compile()
    compile_times.append(time.perf_counter() - start)
  start = time.perf_counter()
  jax.block_until_ready(compiled(params, x_T, cond))
  return {"kind": "sampler_compile", "backbone": "galerkin", "size": size, "steps": steps,
          "compile_s": round(statistics.median(compile_times), 3),
          "time_s": round(time.perf_counter() - start, 3)}


def write_json_atomic(rows: list[dict], path: pathlib.Path) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
  with os.fdopen(fd, "w") as f:
    json.dump(rows, f, indent=1)
  os.replace(tmp, path)


def print_table(rows: list[dict]) -> None:
  print(f"{'backbone':9} {'size':>5} {'pixels':>8} {'time_s':>9} {'temp_MiB':>10} "
        f"{'compile_s':>9}  note")
  for r in rows:
    if r["kind"] == "forward":
      t = "-" if r["time_s"] is None else f"{r['time_s']:.4f}"
      print(f"{r['backbone']:9} {r['size']:5d} {r['pixels']:8d} {t:>9} "
            f"{r['temp_bytes'] / 2**20:10.1f} {r['compile_s']:9.2f}  {r.get('note', '')}")
  for r in rows:
    if r["kind"] == "slope":
      print(f"log-log slope {r['backbone']} {r['sizes'][0]}->{r['sizes'][1]}: time "
            f"{r['time_slope']}, temp memory {r['temp_slope']}; temp memory (compile-time "
            f"estimate) {r['sizes_compiled'][0]}->{r['sizes_compiled'][1]}: "
            f"{r['temp_slope_compiled']} (1 = linear in pixels, 2 = quadratic)")
  for r in rows:
    if r["kind"] == "sampler_compile":
      print(f"DDIM sampler ({r['steps']} steps, {r['size']}x{r['size']}): compile "
            f"{r['compile_s']:.2f} s, run {r['time_s']:.2f} s")


def main(argv: list[str] | None = None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON file for the rows")
  parser.add_argument("--quick", action="store_true", help="stop at 256 x 256")
  parser.add_argument("--runs", type=int, default=5, help="timed runs per configuration")
  parser.add_argument("--sample", action="store_true",
                      help="also time the 25-step stage-2 sample, local operators off and on")
  parser.add_argument("--max_temp_gib", type=float, default=8.0,
                      help="do not run configurations needing more temporary memory")
  args = parser.parse_args(argv)
  key = jax.random.key(0)
  max_temp = args.max_temp_gib * GIB
  # 32 x 32 is extra: the smallest size where softmax still fits, so it has a slope too.
  sizes = {"galerkin": [32, 64, 128, 256, 512, 1024], "softmax": [32, 64, 128, 256, 512]}
  rows = []
  for name, name_sizes in sizes.items():
    for size in name_sizes:
      if args.quick and size > 256:
        continue
      rows.append(bench_forward(name, size, max_temp, args.runs, key))
      print(json.dumps(rows[-1]), flush=True)
  rows += [s for s in (loglog_slope(rows, n) for n in sizes) if s is not None]
  for steps in (25, 100):
    rows.append(bench_sampler_compile(steps, 64, key))
    print(json.dumps(rows[-1]), flush=True)
  if args.sample:
    import sample_scaling  # beside this file (benchmarks/ is on sys.path when run as a script)

    sizes = [256] if args.quick else [256, 512, 1024]
    sample_rows = [sample_scaling.time_sample(local, s, 3, 2) for local in (False, True)
                   for s in sizes]
    doublings, _ = sample_scaling.summarise(sample_rows)
    rows += [dict(kind="sample", **r) for r in sample_rows]
    rows += [dict(kind="sample_doubling", **d) for d in doublings]
    for r in rows[-len(sample_rows) - len(doublings):]:
      print(json.dumps(r), flush=True)
  print_table(rows)
  if args.out is not None:
    write_json_atomic(rows, args.out)
    print(f"wrote {args.out}")
  return rows


if __name__ == "__main__":
  main()
