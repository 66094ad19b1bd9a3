"""DDIM sampling (Song et al. 2021) for an x0-predicting denoiser, as one `lax.scan`.

One DDIM update from step t to t_prev (Song et al. 2021, eq. 12), with ab = alpha_bar:
    eps_hat = (x_t - sqrt(ab_t) x0_hat) / sqrt(1 - ab_t)          # noise implied by x0_hat
    sigma   = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev)
    x_prev  = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev - sigma^2) eps_hat + sigma * z
The last step goes to "t_prev = -1" where ab_prev = 1: sigma = 0 and x_prev = x0_hat.
eta = 0 is deterministic DDIM; eta = 1 matches DDPM's posterior variance.

The loop over steps is a single `jax.lax.scan` so compile time does not grow with the
number of steps (SPEC 2). The denoiser also receives its previous x0 estimate, which SRINO
needs to form Y_prev = L + x0_prev for the residual guidance (zeros at the first step).

Two optional hooks: `noise_fn` replaces `jax.random.normal` for the per-step z (e.g.
`noise.positional_noise_fn`, so that tiles of a scene share it), and `on_step(i)` is a host
callback after step i, for progress bars over the scan.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from srino_jax.schedule import ddim_timesteps

# predict_x0(x_t, t, x0_prev) -> x0_hat; x_t, x0_prev, x0_hat (B, H, W, C); t (B,) int32.
PredictX0 = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray], jnp.ndarray]
# noise_fn(key, shape, dtype) -> standard normal of `shape`, as jax.random.normal.
NoiseFn = Callable[[jax.Array, tuple[int, ...], Any], jnp.ndarray]
# on_step(i): called on the host after DDIM step i (0-based Python int).
OnStep = Callable[[int], Any]


def ddim_step(x_t: jnp.ndarray, x0_hat: jnp.ndarray, t: jnp.ndarray, t_prev: jnp.ndarray,
              alpha_bar: jnp.ndarray, eta: float | jnp.ndarray = 0.0,
              noise: jnp.ndarray | None = None) -> jnp.ndarray:
  """One DDIM update x_t -> x_{t_prev} given the denoiser's x0 estimate (pure).

  Args:
    x_t: (B, ...) current noisy sample.
    x0_hat: (B, ...) predicted clean sample at step t.
    t: scalar int, current training step in [0, T).
    t_prev: scalar int, next (less noisy) step in [0, t), or -1 for the end of sampling,
      where alpha_bar_prev = 1 and the update returns x0_hat.
    alpha_bar: (T,) float32 schedule.
    eta: DDIM stochasticity (0 = deterministic).
    noise: standard normal z with x_t's shape, required only when eta != 0
      (None means z = 0).

  Returns:
    x_{t_prev}, same shape and dtype as x_t.
  """
  ab_t = alpha_bar[t]
  # t_prev = -1 marks the final step: alpha_bar "before step 0" is 1 (no noise left).
  ab_prev = jnp.where(t_prev >= 0, alpha_bar[jnp.maximum(t_prev, 0)], 1.0)
  eps_hat = (x_t - jnp.sqrt(ab_t) * x0_hat) / jnp.sqrt(1.0 - ab_t)  # eps implied by x0_hat
  sigma = eta * jnp.sqrt((1.0 - ab_prev) / (1.0 - ab_t)) * jnp.sqrt(1.0 - ab_t / ab_prev)
  dir_coef = jnp.sqrt(jnp.maximum(1.0 - ab_prev - sigma**2, 0.0))  # "direction pointing to x_t"
  x_prev = jnp.sqrt(ab_prev) * x0_hat + dir_coef * eps_hat
  if noise is not None:
    x_prev = x_prev + sigma * noise
  return x_prev.astype(x_t.dtype)


def _check_eta_key(eta: Any, key: jax.Array | None) -> None:
  if key is None and not (isinstance(eta, (int, float)) and eta == 0):
    raise ValueError(
        f"ddim_sample: eta={eta!r} adds noise at every step and needs a PRNG `key`; "
        "pass key=jax.random.key(...) or use eta=0.0 for deterministic DDIM")


def ddim_sample(predict_x0: PredictX0, x_T: jnp.ndarray, alpha_bar: jnp.ndarray,
                num_steps: int = 25, eta: float = 0.0, key: jax.Array | None = None,
                noise_fn: NoiseFn | None = None, on_step: OnStep | None = None
                ) -> jnp.ndarray:
  """Runs DDIM from x_T down to t = 0 and returns the final x0 estimate.

  The steps are `ddim_timesteps(T, num_steps)` (descending, T = len(alpha_bar)); the
  whole loop is one `jax.lax.scan` with carry (x_t, x0_prev, key). Jit-able with
  `num_steps` static; works under `jax.vmap` over x_T and key (several samples per input).

  Args:
    predict_x0: denoiser `predict_x0(x_t, t, x0_prev) -> x0_hat`, where t is the int32
      training step broadcast to shape (B,) with B = x_T.shape[0], and x0_prev is the
      previous step's estimate (zeros at the first step), same shape as x_T.
    x_T: (B, H, W, C) initial sample, usually standard normal noise.
    alpha_bar: (T,) float32 schedule from `cosine_alpha_bar`.
    num_steps: number of DDIM steps S (static), 1 <= S <= T.
    eta: 0 for deterministic DDIM; > 0 adds the DDIM sigma noise and needs `key`.
    key: PRNG key, required when eta != 0 (ignored for eta = 0).
    noise_fn: draws the per-step z as `noise_fn(subkey, x_t.shape, x_t.dtype)` (default
      `jax.random.normal`); the subkeys are the same either way.
    on_step: host callback `on_step(i)` after step i = 0 .. S-1 (`jax.debug.callback`, so
      it works under jit). Under `jax.vmap` it fires once per mapped element and step, and
      callbacks may arrive out of order: make it idempotent and monotone (e.g. a bar's
      n = max(n, i + 1)). A compiled sampler with a callback is not stored in JAX's
      persistent compilation cache, and its result may differ from the callback-free one
      by float rounding (XLA fuses the scan body differently around the callback).

  Returns:
    (B, H, W, C) the x0 estimate of the last step (x_T's dtype).
  """
  _check_eta_key(eta, key)
  deterministic = isinstance(eta, (int, float)) and eta == 0
  ts = ddim_timesteps(alpha_bar.shape[0], num_steps)
  ts_prev = jnp.concatenate([ts[1:], jnp.array([-1], jnp.int32)])  # -1: the end
  batch = x_T.shape[0]
  draw = jax.random.normal if noise_fn is None else noise_fn

  def step(carry, xs):
    x_t, x0_prev, key = carry
    t, t_prev, i = xs
    x0_hat = predict_x0(x_t, jnp.full((batch,), t, jnp.int32), x0_prev).astype(x_t.dtype)
    if deterministic:
      noise = None
    else:
      key, sub = jax.random.split(key)
      noise = draw(sub, x_t.shape, x_t.dtype)
    x_prev = ddim_step(x_t, x0_hat, t, t_prev, alpha_bar, eta, noise)
    if on_step is not None:
      # After x_prev exists, so the callback follows the step's work (not its dispatch).
      jax.debug.callback(lambda i, _: on_step(int(i)), i, x_prev[(0,) * x_prev.ndim])
    return (x_prev, x0_hat, key), None

  carry0 = (x_T, jnp.zeros_like(x_T), None if deterministic else key)
  steps = jnp.arange(ts.shape[0], dtype=jnp.int32)
  (x0, _, _), _ = jax.lax.scan(step, carry0, (ts, ts_prev, steps))
  return x0

