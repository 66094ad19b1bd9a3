"""srino-jax: SRINO pan-sharpening in JAX/Flax.

Subpackages mirror the method: `operator` (Galerkin attention and the backbones),
`schedule` and `sampler` (the diffusion math), `guidance` (auxiliary networks, residuals,
adapters), `model` (assembly and losses), `data` (PanCollection files, Wald protocol,
synthetic scenes), `metrics` (toolbox quality indices), `baselines` (classical fusion),
`training` (optimizers, steps, loops, checkpoints).
"""

__version__ = "0.1.0"
