"""Learned reference baselines (SPEC 2), as pure networks with stage-style functions.

- `pnn.py`: PNN (Masi et al. 2016), three convolutions on [L, P]; outputs the fused image.
- `fusionnet.py`: FusionNet (Deng et al. 2020), residual blocks on P - L, output + L.

Each provides `init_<name>(cfg, key, pan_size) -> {"<name>": params}`,
`<name>_loss(cfg, params, batch, key) -> (loss, {"loss": loss})` (L1 on gt) and
`<name>_fuse(cfg, params, batch, key, num_steps, eta) -> (B, H, W, C)`; `LEARNED` maps the
name to that triple (see `common.py`). Layer: beside guidance; imports operator and flax only.
"""

from __future__ import annotations

from srino_jax.learned.fusionnet import FusionNet, fusionnet_fuse, fusionnet_loss, init_fusionnet
from srino_jax.learned.pnn import PNN, init_pnn, pnn_fuse, pnn_loss

LEARNED = {
    "pnn": (init_pnn, pnn_loss, pnn_fuse),
    "fusionnet": (init_fusionnet, fusionnet_loss, fusionnet_fuse),
}

__all__ = ["LEARNED", "PNN", "FusionNet", "init_pnn", "pnn_loss", "pnn_fuse", "init_fusionnet",
           "fusionnet_loss", "fusionnet_fuse"]
