"""A tiny SRINO that trains in minutes on 2 CPU cores, on synthetic WV3-like scenes.

  python demo.py                      # the whole demo: data, all stages, sampling, tables
  python train.py --config configs/demo.py --workdir runs/demo

Everything the paper's recipe has (two stages, frozen backbone, residual-guided 25-step
DDIM) at a toy size: width 32, 2 operator layers, 32 x 32 patches, a larger learning rate
and a few hundred steps per stage. Its numbers show the method working, not the paper's.

Two settings differ from the paper to make such short runs learn (the sensor configs keep
the paper's values): the diffusion runs on 10 (H - L) instead of H - L, whose few
hundredths are otherwise drowned by unit noise, and the backbone's condition also holds L
([H, L] in stage 1, [H^, L] in stage 2). On the synthetic validation set they took stage-2
PSNR from 32.4 to 35.7 dB at the same step count.

When ../shared/realdata/zpnn_WV3_example.mat exists (or the folder given by
--config.data.realdata holds it), its Wald reduction joins the training set (a tenth of the
examples, with the dihedral augmentation); otherwise one warning says so.
`--stage all` also trains the learned baselines PNN and FusionNet (400 steps each).
"""

import ml_collections

from configs import base

def get_config():
  config = base.for_sensor("wv3")
  config.data.root = "data/demo"
  config.data.synthetic = True
  config.data.synthetic_train = 384
  config.data.synthetic_valid = 32
  config.data.synthetic_test = 4
  config.data.synthetic_test_size = 128
  config.data.patch_size = 32
  config.data.augment = True  # dihedral flips/rotations of every source's patches

  config.model.width = 32
  config.model.depth = 2
  config.model.heads = 4
  config.model.adapter_width = 16
  config.model.condition_lms = True
  config.diffusion.residual_scale = 10.0

  config.optim.learning_rate = 1e-3
  config.optim.decay_every = 400
  config.optim.weight_decay = 0.0

  config.train.batch_size = 8
  config.train.aux_steps = 300
  # 1200 + 700 (was 1500 + 800): the whole demo, baselines included, fits in 6 minutes
  # on 2 CPU cores (issue 9).
  config.train.stage1_steps = 1200
  config.train.stage2_steps = 700
  config.train.log_every = 50
  config.train.eval_every = 200
  config.train.eval_examples = 32
  config.train.checkpoint_every = 200
  config.train.pnn_steps = 400
  config.train.fusionnet_steps = 400
  config.train.baselines = "pnn,fusionnet"
  # Chosen on the synthetic validation set by benchmarks/sampler_study.py --config demo
  # (benchmarks/results/sampler_study_demo.md; the WorldView-2 scene is never read there):
  # EMA decay 0.99 from step 200 (of 0, 0.99, 0.998), and 5 DDIM steps, eta 1, the mean of
  # K = 8 samples with the EMA weights (validation Q8 0.8811 against 0.8474 for the paper's
  # 25 steps, K = 1 without EMA).
  config.train.ema_decay = 0.99
  config.train.ema_start = 200
  config.diffusion.sample_steps = 5
  config.diffusion.eta = 1.0
  config.diffusion.num_samples = 8
  config.diffusion.sample_weights = "ema"
  _add_real_example(config)
  return config


def _add_real_example(config) -> None:
  """Trains on the synthetic file plus the WV3 example's Wald reduction (MS 8x8 -> PAN
  32x32, one patch, dihedral-augmented, a tenth of the examples). The example is an optional
  source: where the folder (--config.data.realdata, default ../shared/realdata relative to the
  working directory) lacks it, training warns once and uses the synthetic file alone."""
  config.data.sources = ml_collections.ConfigDict({
      "synthetic": {"kind": "file", "path": config.data.train, "weight": 0.9},
      "wv3_example": {"kind": "real", "scene": "wv3_example", "weight": 0.1,
                      "optional": True},
  })
  config.data.holdout = 0.0  # too small to hold a block out: validation stays synthetic
