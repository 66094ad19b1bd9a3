"""srino_jax.model.modes: the guidance registry (unknown names list the known ones, the mode
table) and the ModelConfig checks that rely on it."""

from __future__ import annotations

import dataclasses

import pytest

from srino_jax.model import GUIDANCE_MODES, get_guidance_mode

from _tiny_model import CFG


# ---- configuration and registry ------------------------------------------------------------

def test_guidance_registry_rejects_unknown_name_listing_known():
  with pytest.raises(ValueError) as err:
    get_guidance_mode("residual")
  for name in ("none", "spatial", "spectral", "both", "gradient"):
    assert name in str(err.value)
  with pytest.raises(ValueError, match="gradient"):
    dataclasses.replace(CFG, guidance="bogus")
  with pytest.raises(ValueError, match="galerkin"):
    dataclasses.replace(CFG, backbone="unet")
  with pytest.raises(ValueError, match="bands"):
    dataclasses.replace(CFG, sensor="WV3")
  table = {n: (m.spatial, m.spectral, m.uses_residuals) for n, m in GUIDANCE_MODES.items()}
  assert table == {"none": (False, False, False), "spatial": (True, False, True),
                   "spectral": (False, True, True), "both": (True, True, True),
                   "gradient": (False, False, False)}
  assert hash(CFG) == hash(dataclasses.replace(CFG))  # usable as a jit static argument
