"""The paper's recipe (SRINO, CVPR 2026), shared by the sensor configs.

Sensor configs import this and override the sensor and data paths:

  python train.py --config configs/wv3.py --workdir runs/wv3

Values the paper states are marked "paper"; the rest are ours (the paper is silent) and are
kept configurable. Override any field from the command line, e.g.
`--config.train.batch_size=16`; `python train.py --config configs/wv3.py --print_config`
shows every field.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # Version of the run format (config.json): 2 = random streams from fixed stream ids
  # (`training/run.py`); a config.json without it is a version-1 run and keeps its streams.
  config.version = 2
  config.seed = 0
  config.sensor = "wv3"

  # PanCollection HDF5 files (NCHW, digital numbers). `synthetic=True` writes synthetic files
  # into `root` when they are missing (the demo); real configs never do.
  config.data = ml_collections.ConfigDict()
  config.data.root = "data/PanCollection"
  config.data.train = "train_wv3.h5"
  config.data.valid = "valid_wv3.h5"
  config.data.test = "test_wv3_multiExm1.h5"
  config.data.test_full = "test_wv3_OrigScale_multiExm1.h5"
  config.data.patch_size = 64              # paper: 64 x 64 PAN patches
  config.data.synthetic = False
  config.data.synthetic_train = 0          # synthetic set sizes (demo only)
  config.data.synthetic_valid = 0
  config.data.synthetic_test = 0
  config.data.synthetic_test_size = 256
  # Training sources (ours; empty = the single file `train` above, as the paper). Entries:
  # ConfigDict(kind="real", scene=<name or .mat>, weight=w) or ConfigDict(kind="file",
  # path=<file under root>, weight=w); see srino_jax/training/datasets.py and configs/real4.py.
  config.data.sources = ml_collections.ConfigDict()
  config.data.realdata = "../shared/realdata"  # folder of the real .mat scenes
  config.data.holdout = 0.25               # share of each real scene held out
  config.data.holdout_side = "bottom"      # top | bottom | left | right
  # The held-out block's validation / test split (srino_jax/data/holdout.py): its last
  # `holdout_test` across the block (a bottom block: its right half) is the test part,
  # reported only; the rest validates (checkpoints, EMA, sampler: everything chosen).
  config.data.holdout_test = 0.5
  config.data.augment = False              # dihedral flips/rotations of the sources' patches

  config.model = ml_collections.ConfigDict()
  config.model.backbone = "galerkin"       # galerkin | softmax | fno | cnn (ablations)
  config.model.width = 64                  # ours: d = 64
  config.model.depth = 4                   # ours: 4 operator layers
  config.model.heads = 4
  config.model.ffn_ratio = 2
  config.model.fno_modes = 12
  config.model.guidance = "both"           # none | spatial | spectral | both | gradient
  config.model.adapter_width = 32
  config.model.kernel_size = 11            # paper: 11 x 11 f_KE kernels
  config.model.gradient_weight = 0.5       # alpha of the "gradient" ablation (ours; < 2)
  config.model.condition_lms = False       # paper: condition = H (stage 1) / H^ (stage 2)
  config.model.local_operators = True      # ours (SPEC 2): conv stem + depthwise 3x3 FFN
  config.model.stem_blocks = 2             # ours: 3x3 residual blocks of the stem

  config.diffusion = ml_collections.ConfigDict()
  config.diffusion.num_train_steps = 500   # paper: T = 500, cosine schedule
  config.diffusion.schedule_s = 0.008
  config.diffusion.residual_scale = 1.0    # paper: diffuse X0 = H - L itself (scale 1)
  config.diffusion.sample_steps = 25       # paper: 25-step DDIM
  config.diffusion.eta = 0.0
  config.diffusion.num_samples = 1         # K samples averaged per scene (paper: one)
  # The weights that fuse: "auto" = the EMA when the run keeps one (train.ema_decay > 0),
  # else the online weights; or "ema" / "online" (chosen on validation: sampler_study.py).
  config.diffusion.sample_weights = "auto"

  config.optim = ml_collections.ConfigDict()
  config.optim.learning_rate = 4e-5        # paper
  config.optim.decay_every = 10_000        # paper: halved every 10k iterations
  config.optim.decay_factor = 0.5
  config.optim.b1 = 0.9                    # paper: AdamW (0.9, 0.999)
  config.optim.b2 = 0.999
  config.optim.weight_decay = 0.01         # ours (PyTorch AdamW default)
  config.optim.grad_clip = 0.0             # 0 = off

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 32             # paper
  config.train.aux_steps = 20_000          # iteration counts: ours (not stated in the paper)
  config.train.stage1_steps = 150_000
  config.train.stage2_steps = 100_000
  config.train.pnn_steps = 20_000          # learned baselines (python train.py --stage pnn)
  config.train.fusionnet_steps = 20_000
  config.train.baselines = ""              # learned stages --stage all adds: "pnn,fusionnet"
  config.train.log_every = 100
  config.train.eval_every = 5_000
  config.train.eval_examples = 64          # validation patches sampled per evaluation
  config.train.checkpoint_every = 5_000
  config.train.keep_checkpoints = 3        # the last few, plus the best by validation
  # EMA of the trained weights (0 = off): validation, the best checkpoint and fusion use it.
  # The peers' values (Dif-PAN / DDIF: decay 0.995 from iteration 20k); before ema_start
  # the EMA equals the online weights.
  config.train.ema_decay = 0.995
  config.train.ema_start = 20_000
  return config


def for_sensor(sensor: str) -> ml_collections.ConfigDict:
  """The paper's recipe on `sensor` with PanCollection's file names for it."""
  config = get_config()
  config.sensor = sensor
  config.data.train = f"train_{sensor}.h5"
  config.data.valid = f"valid_{sensor}.h5"
  config.data.test = f"test_{sensor}_multiExm1.h5"
  config.data.test_full = f"test_{sensor}_OrigScale_multiExm1.h5"
  return config
