"""srino_jax.training.sources: config.data.sources parsed into Source records, bad entries named,
optional real sources left out (with a warning) when their scene is absent."""


import pytest

from srino_jax.training import configfile, datasets
from srino_jax.training.sources import Source

from conftest import REPO, as_run, with_sources as _with_sources




def test_bad_source_entries_are_named(tiny_run):
  with pytest.raises(ValueError, match=r"sources.x.kind must be one of \['file', 'real'\]"):
    as_run(_with_sources(tiny_run, {"x": {"kind": "tif"}}))
  with pytest.raises(ValueError, match=r"sources.x \(kind 'real'\) needs the field 'scene'"):
    as_run(_with_sources(tiny_run, {"x": {"kind": "real"}}))
  with pytest.raises(ValueError, match="sources.x.weight must be >= 0"):
    as_run(_with_sources(tiny_run, {"x": {"kind": "file", "path": "a.h5",
                                                           "weight": -1.0}}))


def test_demo_config_adds_the_wv3_example_only_when_present(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # no ../shared/realdata here: a bare clone
  config = configfile.load_config(str(REPO / "configs" / "demo.py"))
  with pytest.warns(UserWarning, match=r"optional training source left out: real scene "
                    r"'wv3_example': file \.\./shared/realdata/zpnn_WV3_example.mat not found.*"
                    r"--config.data.realdata"):
    entries = {s.name: s for s in as_run(config).sources}
  assert list(entries) == ["synthetic"]  # the synthetic file alone, no error
  (tmp_path / "a").mkdir()
  (tmp_path / "shared" / "realdata").mkdir(parents=True)
  (tmp_path / "shared" / "realdata" / "zpnn_WV3_example.mat").write_bytes(b"")
  # The flag finds the example from any working directory (here: still the bare one).
  flagged = configfile.load_config(str(REPO / "configs" / "demo.py"),
                                   [f"data.realdata={tmp_path / 'shared' / 'realdata'}"])
  assert [s.name for s in as_run(flagged).sources] == ["synthetic", "wv3_example"]
  monkeypatch.chdir(tmp_path / "a")
  config = configfile.load_config(str(REPO / "configs" / "demo.py"))
  entries = {s.name: s for s in as_run(config).sources}
  assert entries["synthetic"] == Source("synthetic", "file", config.data.train, 0.9)
  assert entries["wv3_example"] == Source("wv3_example", "real", "wv3_example", 0.1, True)
  assert config.data.holdout == 0.0 and config.data.augment
  assert datasets.needed_files(as_run(config)) == ("train", "valid")  # synthetic validation
