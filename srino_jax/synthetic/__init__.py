"""Synthetic satellite scenes and PanCollection-style datasets made from them.

`landcover` renders the abundance maps of a scene (fields, towns, woods, water, roads);
`generate` turns them into sensor observations and Wald-reduced datasets.

  python -m srino_jax.synthetic --sensor wv3 --out data/synthetic
"""

from srino_jax.synthetic.generate import (MATERIALS, SyntheticScene, band_centres,
                                          dataset_paths, main, make_synthetic_dataset,
                                          material_spectra, pan_weights, synthesize_scene)

__all__ = ["MATERIALS", "SyntheticScene", "band_centres", "material_spectra", "pan_weights",
           "synthesize_scene", "dataset_paths", "make_synthetic_dataset", "main"]
