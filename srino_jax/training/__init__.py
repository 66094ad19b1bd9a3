"""Training: the orchestration room, which reads the run's ConfigDict (through `Run`).

- `configfile`: `load_config(path, overrides)`, configs/*.py + "--config.a.b=v" overrides.
- `run`: `Run`, built once per command (`Run.from_config(config, workdir)`, `Run.load(path)`):
  the locked config, the `ModelConfig` (built once, by `model_config`), the parsed sources,
  the sampling settings, the paths, the random streams and `run.params(stage, which)`.
- `sources`: `config.data.sources` parsed into `Source` records.
- `stages`: the stage registry (`Stage`, `STAGES`, `register_stage`, `get_stage`).
- `fuser`: `make_fuser(run, params, ...)`, the one jitted fusion; `fuse_scenes` over stacks.
- `optim`: AdamW with frozen groups per stage (`stage_optimizer(config, stage)`).
- `state`: `TrainState`, `make_train_step`, `make_eval_step`.
- `validation`, `sharding`, `logging`, `datasets`, `preflight`; `loop`: `train(run)`,
  `train_stage(run, stage)`.
"""
