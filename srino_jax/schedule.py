"""Cosine noise schedule (Nichol & Dhariwal 2021) and DDIM timestep subsets.

Conventions (used by the sampler and the training loss):
- Training timesteps are integers t = 0..T-1, t = 0 the least noisy (the paper: T = 500).
- `alpha_bar[t]` is the cumulative signal fraction at step t:
      f(u) = cos(((u / T + s) / (1 + s)) * pi / 2)^2,          s = 0.008
      beta_t = min(1 - f(t + 1) / f(t), 0.999)                  (betas clipped at 0.999)
      alpha_bar[t] = prod_{i <= t} (1 - beta_i)
  i.e. alpha_bar[t] = f(t + 1) / f(0) wherever no beta is clipped (improved-DDPM indexing:
  array index t is continuous time t + 1, so alpha_bar[0] < 1 and alpha_bar[T - 1] ~ 0).
- Forward process: x_t = sqrt(alpha_bar[t]) x_0 + sqrt(1 - alpha_bar[t]) eps.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

MAX_BETA = 0.999  # Nichol & Dhariwal clip: avoids a singular last step where f(T) = 0.


def cosine_alpha_bar_table(num_steps: int = 500, s: float = 0.008) -> np.ndarray:
  """`cosine_alpha_bar` as a NumPy (T,) float32 table (safe to build and keep outside jit)."""
  if int(num_steps) != num_steps or num_steps < 1:
    raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
  if not s >= 0:
    raise ValueError(f"s must be >= 0, got {s!r}")
  u = np.arange(num_steps + 1, dtype=np.float64)
  f = np.cos(((u / num_steps + s) / (1.0 + s)) * np.pi / 2) ** 2
  betas = np.minimum(1.0 - f[1:] / f[:-1], MAX_BETA)  # beta_t, t = 0..T-1
  return np.cumprod(1.0 - betas).astype(np.float32)


def cosine_alpha_bar(num_steps: int = 500, s: float = 0.008) -> jnp.ndarray:
  """Cumulative products alpha_bar of the cosine schedule.

  Args:
    num_steps: T, the number of training diffusion steps (> 0).
    s: small offset that keeps beta_0 away from 0 (Nichol & Dhariwal's s = 0.008).

  Returns:
    (T,) float32, alpha_bar[t] for t = 0..T-1, strictly decreasing from ~1 to ~0.
    Computed in float64 NumPy, returned as a float32 jax array.
  """
  return jnp.asarray(cosine_alpha_bar_table(num_steps, s))


def q_sample(x0: jnp.ndarray, t: jnp.ndarray, noise: jnp.ndarray,
             alpha_bar: jnp.ndarray) -> jnp.ndarray:
  """Forward diffusion q(x_t | x_0): sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps.

  Args:
    x0: (B, ...) clean signal (here the residual X0 = H - L, NHWC).
    t: (B,) integer training timesteps in [0, T).
    noise: eps, same shape as x0, standard normal.
    alpha_bar: (T,) schedule from `cosine_alpha_bar`.

  Returns:
    x_t, same shape and dtype as x0.
  """
  if noise.shape != x0.shape:
    raise ValueError(f"noise shape {noise.shape} differs from x0 shape {x0.shape}")
  t = jnp.asarray(t)
  if t.ndim != 1 or t.shape[0] != x0.shape[0]:
    raise ValueError(f"t must have shape ({x0.shape[0]},) (one step per sample), got {t.shape}")
  ab = alpha_bar[t].reshape((-1,) + (1,) * (x0.ndim - 1))  # broadcast over the image
  out = jnp.sqrt(ab) * x0 + jnp.sqrt(1.0 - ab) * noise
  return out.astype(x0.dtype)


def ddim_timesteps(num_train_steps: int, num_steps: int) -> jnp.ndarray:
  """Evenly spaced, descending subset of the training steps for DDIM.

  Exact choice: round(linspace(T - 1, 0, S)), the "trailing" spacing of Lin et al. 2024
  ("Common diffusion noise schedules and sample steps are flawed"): sampling starts at the
  noisiest training step T - 1 (where alpha_bar ~ 0, matching pure-noise x_T) and ends at
  t = 0. For T = 500, S = 25 this is [499, 478, 458, ..., 21, 0] (gaps of 20 or 21).

  Args:
    num_train_steps: T.
    num_steps: S, the number of sampling steps, 1 <= S <= T.

  Returns:
    (S,) int32, strictly decreasing (S = 1 gives [T - 1]).
  """
  if not 1 <= num_steps <= num_train_steps:
    raise ValueError(
        f"num_steps must be in [1, num_train_steps={num_train_steps}], got {num_steps}")
  ts = np.round(np.linspace(num_train_steps - 1, 0, num_steps)).astype(np.int32)
  return jnp.asarray(ts)
