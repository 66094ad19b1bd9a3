"""A 4-band SRINO trained on real scenes: GeoEye-1 and IKONOS (../shared/realdata).

  python train.py --config configs/real4.py --workdir runs/real4
  python train.py --config configs/real4.py --workdir runs/real4 \\
      --config.data.realdata=/path/to/realdata

Each scene's training part (the top three quarters of its rows) is Wald-reduced on the fly
(MS 60x80 -> 240x320, the original MS as ground truth); the bottom quarter is held out at
every scale (never a training patch) and cut in two before any reduction
(config.data.holdout_test): its left half validates (checkpoints, EMA, sampler settings:
everything chosen is chosen there), its right half is the test part, reported only. Patches get the dihedral
augmentation. `--stage all` trains SRINO's three stages, then PNN and FusionNet on the same
batches (each in its own checkpoint folder of the workdir), all within 20 minutes on
2 CPU cores. The model's sensor (the f_KE kernel prior) is IKONOS; GeoEye-1 patches are in
their own units (DN / 255: the file is 8-bit). The demo's tricks for short runs are kept:
diffusion on 10 (H - L) and the condition [H, L].
"""

import ml_collections

from configs import demo


def get_config():
  config = demo.get_config()
  config.sensor = "ikonos"
  config.data.synthetic = False
  config.data.root = "data/real4"  # unused: no file source
  config.data.train = ""
  config.data.valid = ""
  config.data.test = ""
  config.data.test_full = ""
  config.data.sources = ml_collections.ConfigDict({
      "geoeye1": {"kind": "real", "scene": "geoeye1", "weight": 1.0},
      "ikonos": {"kind": "real", "scene": "ikonos", "weight": 1.0},
  })
  config.data.holdout = 0.25
  config.data.holdout_side = "bottom"
  config.data.augment = True
  config.data.patch_size = 32

  config.train.batch_size = 8
  config.train.aux_steps = 300
  config.train.stage1_steps = 1500
  config.train.stage2_steps = 600
  config.train.pnn_steps = 1000
  config.train.fusionnet_steps = 1000
  config.train.baselines = "pnn,fusionnet"
  config.train.eval_every = 500
  config.train.eval_examples = 20
  config.train.checkpoint_every = 500
  # Chosen on the validation parts by benchmarks/sampler_study.py (results and their test
  # scores: benchmarks/results/sampler_study_real4.md): EMA decay 0.99 from step 200 (of
  # 0, 0.99, 0.998), and the sampler 2 DDIM steps, eta 0, the mean of K = 8 samples, with
  # the online weights (of 25/5/10/2/1 steps, eta 0/1, K 1/4/8, EMA/online: validation Q4
  # 0.9126 against 0.8855 for the paper's 25 steps, K = 1 without EMA).
  config.train.ema_decay = 0.99
  config.train.ema_start = 200
  config.diffusion.sample_steps = 2
  config.diffusion.eta = 0.0
  config.diffusion.num_samples = 8
  config.diffusion.sample_weights = "online"
  return config
