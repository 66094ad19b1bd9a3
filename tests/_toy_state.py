"""A two-group linear toy model for the train-state and checkpoint tests."""

import jax
import jax.numpy as jnp


def toy_params(key=0):
  """{"backbone", "tga"} (3, 2) weights and empty "m2p" / "ke" groups."""
  k1, k2 = jax.random.split(jax.random.PRNGKey(key))
  return {"backbone": {"w": jax.random.normal(k1, (3, 2))},
          "tga": {"w": jax.random.normal(k2, (3, 2))}, "m2p": {}, "ke": {}}


def toy_loss(params, batch, key):
  """L1 of x @ (W_backbone + W_tga) against y; the key is drawn from (times 0), so a step
  that passes a bad key still fails."""
  pred = batch["x"] @ (params["backbone"]["w"] + params["tga"]["w"])
  noise = 0.0 * jax.random.normal(key, ())
  loss = jnp.mean(jnp.abs(pred - batch["y"])) + noise
  return loss, {"l1": loss}


def toy_batch():
  x = jnp.arange(12.0).reshape(4, 3) / 10
  return {"x": x, "y": jnp.ones((4, 2))}
