"""Cost of SRINO's closed-loop guidance per sampling step, and the sampler's compile time.

Run by hand (CPU is fine):

  python benchmarks/sampling_cost.py --out benchmarks/results/sampling_cost.json

At PAN 256 x 256, 8 bands and the default widths (d = 64, 4 layers, adapter width 32) it
times, jitted, batch 1, the minimum over interleaved repeats (medians are kept as well):
- the bare backbone forward G(x_t, cond, t) (what stage 1 runs per step);
- one stage-2 denoiser call with guidance "none" (TGA fusion, no residuals);
- one stage-2 denoiser call with guidance "both" (R_spa, R_spe recomputed from x0_prev):
  the library's `make_predict_x0` closure, with the once-per-image conditions given;
- the residual recomputation alone (f_M2P(Y_prev), KE * Y_prev) and the conditions;
and the lower + compile time of the whole jitted `sample` at 25 and 100 DDIM steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import statistics
import tempfile
import time

import jax
import jax.numpy as jnp

from srino_jax.guidance import spatial_residual, spectral_residual
from srino_jax.model import SRINO, init_params, make_predict_x0, sample
from srino_jax.training import configfile
from srino_jax.training.run import Run

BASE = pathlib.Path(__file__).resolve().parents[1] / "configs" / "base.py"
SENSOR_OF_BANDS = {8: "wv3", 4: "qb"}


def _time_interleaved(fns: dict, repeats: int) -> dict:
  """{name: (min, median)} seconds over `repeats` rounds that call every function in turn.

  Interleaving spreads any background load over all candidates alike; the minimum is the
  least disturbed run (reported as the headline number), the median shows the spread.
  """
  for fn, args in fns.values():
    jax.block_until_ready(fn(*args))  # warm-up: compilation excluded
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, (fn, args) in fns.items():
      start = time.perf_counter()
      jax.block_until_ready(fn(*args))
      times[name].append(time.perf_counter() - start)
  return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}


def _compile_time(fn, *args) -> float:
  start = time.perf_counter()
  fn.lower(*args).compile()
  return time.perf_counter() - start


def run(size: int, bands: int, repeats: int) -> dict:
  """Measures everything; returns a JSON-able dict (times in seconds)."""
  # The paper's recipe (configs/base.py), generic f_KE prior: only the timing matters.
  config = configfile.load_config(str(BASE), [f"sensor={SENSOR_OF_BANDS[bands]}"])
  cfg = dataclasses.replace(Run.from_config(config).model, sensor=None)
  cfg_none = dataclasses.replace(cfg, guidance="none")
  steps = config.diffusion.sample_steps
  params = init_params(cfg, jax.random.key(0), pan_size=64)
  params_none = init_params(cfg_none, jax.random.key(0), pan_size=64)
  keys = jax.random.split(jax.random.key(1), 4)
  lms = jax.random.uniform(keys[0], (1, size, size, bands))
  noise = 0.01 * jax.random.normal(keys[1], (1, size, size, 1))
  pan = jnp.mean(lms, axis=-1, keepdims=True) + noise
  batch = {"lms": lms, "pan": pan}
  x_t = jax.random.normal(keys[2], lms.shape)
  x0_prev = 0.05 * jax.random.normal(keys[3], lms.shape)
  t = jnp.full((1,), 250, jnp.int32)
  model, model_none = SRINO(cfg), SRINO(cfg_none)

  # Every input is a jit argument (closed-over arrays would be constant-folded by XLA).
  data = (x_t, t, pan, lms)
  backbone = jax.jit(lambda p, d: model.apply({"params": p}, d[0], d[3], d[1],
                                              method=SRINO.denoise_stage1))

  def conditions_fn(m):
    return jax.jit(lambda p, d: m.apply({"params": p}, d[2], d[3], method=SRINO.conditions))

  conditions = conditions_fn(model)
  conds, conds_none = conditions(params, data), conditions_fn(model_none)(params_none, data)

  def stage2(c):  # the sampler's per-step closure, conditions given
    return jax.jit(lambda p, conds, x0p, d: make_predict_x0(
        c, p, {"lms": d[3], "pan": d[2]}, conds)(d[0], d[1], x0p))

  def residuals(p, c, x0p, d):
    y_prev = cfg.diffusion.to_image(x0p, d[3])
    m2p = lambda img: model.apply({"params": p}, img, method=SRINO.pseudo_pan)
    return (spatial_residual(d[2], y_prev, m2p),
            spectral_residual(d[2], d[3], y_prev, c["kernels"]))

  timed = _time_interleaved({
      "backbone_forward": (backbone, (params, data)),
      "step_none": (stage2(cfg_none), (params_none, conds_none, x0_prev, data)),
      "step_both": (stage2(cfg), (params, conds, x0_prev, data)),
      "residuals_only": (jax.jit(residuals), (params, conds, x0_prev, data)),
      "conditions_once": (conditions, (params, data)),
  }, repeats)
  res = {name: best for name, (best, _) in timed.items()}
  medians = {name: med for name, (_, med) in timed.items()}
  jsample = jax.jit(sample, static_argnums=(0, 4))
  compile_s = {n: _compile_time(jsample, cfg, params, batch, jax.random.key(0), n, 0.0)
               for n in (steps, 4 * steps)}
  sample_run = _time_interleaved(
      {"sample": (jsample, (cfg, params, batch, jax.random.key(0), steps, 0.0))}, 2)["sample"][0]
  b = res["backbone_forward"]
  return {
      "setup": {"pan_size": size, "bands": bands, "batch": 1, "width": cfg.width,
                "depth": cfg.depth, "adapter_width": cfg.adapter_width,
                "backend": jax.default_backend(), "cpu_count": os.cpu_count(),
                "load_average_1min": os.getloadavg()[0], "machine": platform.machine(),
                "jax": jax.__version__, "repeats": repeats},
      "seconds": res,
      "seconds_median": medians,
      "ratios": {
          "step_both_over_backbone": res["step_both"] / b,
          "step_none_over_backbone": res["step_none"] / b,
          "residual_overhead_over_backbone": (res["step_both"] - res["step_none"]) / b,
          "residual_overhead_over_step_none": res["step_both"] / res["step_none"] - 1.0,
      },
      "sample_compile_seconds": {str(k): v for k, v in compile_s.items()},
      "sample_25_steps_seconds": sample_run,
  }


def _print_table(out: dict) -> None:
  s, r = out["seconds"], out["ratios"]
  b = s["backbone_forward"]
  print(f"PAN {out['setup']['pan_size']}^2, {out['setup']['bands']} bands, batch 1, "
        f"{out['setup']['backend']} (load {out['setup']['load_average_1min']:.1f})")
  print(f"{'part':<24}{'min ms':>10}{'median ms':>12}{'x backbone':>12}")
  for name in ("backbone_forward", "step_none", "step_both", "residuals_only",
               "conditions_once"):
    print(f"{name:<24}{1e3 * s[name]:>10.1f}{1e3 * out['seconds_median'][name]:>12.1f}"
          f"{s[name] / b:>12.2f}")
  print("residual overhead (both - none) / backbone: "
        f"{100 * r['residual_overhead_over_backbone']:.0f}%")
  print("residual overhead, both / none - 1:         "
        f"{100 * r['residual_overhead_over_step_none']:.0f}%")
  for n, v in out["sample_compile_seconds"].items():
    print(f"compile jitted sample, {n:>3} steps: {v:.2f} s")
  print(f"sample, 25 steps (run): {out['sample_25_steps_seconds']:.2f} s")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", help="write the results to this JSON file")
  parser.add_argument("--size", type=int, default=256)
  parser.add_argument("--bands", type=int, default=8)
  parser.add_argument("--repeats", type=int, default=9)
  args = parser.parse_args()
  out = run(args.size, args.bands, args.repeats)
  _print_table(out)
  if args.out:
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
      json.dump(out, f, indent=2)
    os.replace(f.name, args.out)


if __name__ == "__main__":
  main()
