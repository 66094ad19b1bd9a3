"""SRINO's diffusion on the residual: the schedule, the forward process and the conversions.

One object owns everything that links an image to the diffusion's variable, so the losses,
the sampler and the benchmarks cannot disagree on it (SPEC 2, with our residual scale s):

  X0     = s (H - L)            the clean variable (s = residual_scale; the paper's s = 1)
  H      = L + X0 / s           back to an image (the final Y, and Y_prev at every step)
  X_t    = sqrt(ab_t) X0 + sqrt(1 - ab_t) eps,   t ~ U{0..T-1}, eps ~ N(0, 1)

alpha_bar is the cosine schedule `schedule.cosine_alpha_bar(T, s_schedule)`, built once
when the object is made. In sensor-max units H - L has a spread of a few hundredths against
unit noise; s > 1 lets short runs learn (the demo's s = 10).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from srino_jax.schedule import cosine_alpha_bar_table, q_sample

__all__ = ["Diffusion"]


@dataclasses.dataclass(frozen=True)
class Diffusion:
  """The residual diffusion of one model: frozen and hashable (a field of `ModelConfig`,
  so a jit static argument); its (T,) alpha_bar table is built once, with the object.

  Attributes:
    num_train_steps: T, the number of training diffusion steps.
    schedule_s: the cosine schedule's offset (0.008 in the paper).
    residual_scale: s, the diffusion runs on s (H - L).
  """

  num_train_steps: int
  schedule_s: float
  residual_scale: float

  def __post_init__(self):
    if not self.residual_scale > 0:
      raise ValueError(f"residual_scale must be > 0, got {self.residual_scale!r}")
    # A NumPy table, not a jax array: a jax array made while a jit traces would be a
    # tracer, and keeping it would leak it. Not a field: equality and hash ignore it.
    object.__setattr__(self, "_table",
                       cosine_alpha_bar_table(self.num_train_steps, self.schedule_s))

  @property
  def alpha_bar(self) -> jnp.ndarray:
    """(T,) float32 cumulative signal fractions alpha_bar[t], t = 0..T-1."""
    return jnp.asarray(self._table)

  def to_x0(self, hrms: jnp.ndarray, lms: jnp.ndarray) -> jnp.ndarray:
    """X0 = s (H - L): (B, H, W, C) image-unit arrays -> the diffusion's clean variable."""
    return self.residual_scale * (hrms - lms)

  def to_image(self, x0: jnp.ndarray, lms: jnp.ndarray) -> jnp.ndarray:
    """H = L + X0 / s: the image of a clean estimate (Y at the end, Y_prev at every step).

    Args:
      x0: (B, H, W, C) in the diffusion's units (zeros give L, the first step's Y_prev).
      lms: (B, H, W, C) L in sensor-max units.
    """
    return lms + x0 / self.residual_scale

  def to_image_units(self, x0: jnp.ndarray) -> jnp.ndarray:
    """X0 / s: a residual (or an L1 between residuals) in sensor-max units."""
    return x0 / self.residual_scale

  def from_image_units(self, residual: jnp.ndarray) -> jnp.ndarray:
    """s R: an image-unit residual R = H - L (e.g. a corrected estimate) -> X0."""
    return self.residual_scale * residual

  def q_sample(self, x0: jnp.ndarray, t: jnp.ndarray, noise: jnp.ndarray) -> jnp.ndarray:
    """Forward process q(X_t | X0), (B, H, W, C), for per-example steps t (B,) int32."""
    return q_sample(x0, t, noise, self.alpha_bar)

  def noisy(self, x0: jnp.ndarray, key: jax.Array) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Draws t ~ U{0..T-1} per example and eps ~ N(0, 1); returns (X_t, t).

    `key` is split into (key_t, key_eps) in this order (the training keys of every stage
    depend on it: changing it changes every trained model).
    """
    key_t, key_eps = jax.random.split(key)
    t = jax.random.randint(key_t, (x0.shape[0],), 0, self.num_train_steps, dtype=jnp.int32)
    eps = jax.random.normal(key_eps, x0.shape, x0.dtype)
    return self.q_sample(x0, t, eps), t
