"""Training: the orchestration room, which reads the run's ConfigDict directly.

- `configfile`: `load_config(path, overrides)`, configs/*.py + "--config.a.b=v" overrides.
- `run`: `model_config(config)` (the one ModelConfig factory), data paths, the workdir's
  config.json and the parameters of its stage checkpoints (`stage_params`).
- `stages`: the stage registry (`Stage`, `STAGES`, `register_stage`, `get_stage`).
- `optim`: AdamW with frozen groups per stage (`stage_optimizer(config, stage)`).
- `state`: `TrainState`, `make_train_step`, `make_eval_step`.
- `validation`, `sharding`, `logging`; `loop`: `train(config, workdir)`, `train_stage`.
"""
