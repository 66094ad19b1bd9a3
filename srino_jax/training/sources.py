"""A run's training sources, parsed once from `config.data.sources` into frozen records.

  config.data.sources.<name> = ConfigDict(kind="real", scene="geoeye1", weight=1.0)
  config.data.sources.<name> = ConfigDict(kind="file", path="train_wv3.h5", weight=1.0)

  kind "real"  a real .mat scene (a `REAL_SCENES` name or a path) in `config.data.realdata`,
               Wald-reduced on the fly, minus the held-out block (`config.data.holdout`);
  kind "file"  a reduced-resolution PanCollection file (relative to `config.data.root`).

An entry's own fields: `kind` and `scene` / `path` (required), `weight` (sampling weight,
default 1) and `optional` (a real scene absent from the folder is left out with one warning,
default False: the demo's WV3 example, which a bare clone does not have). `parse_sources`
is the only reader of these fields; `training.run.Run` holds its result.
"""

from __future__ import annotations

import dataclasses
import warnings

import ml_collections

from srino_jax.data.realscenes import resolve_scene_path

__all__ = ["Source", "SOURCE_FIELDS", "parse_sources", "REALDATA_FLAG"]

# The flag that points at the folder of the real scenes (named in missing-file messages).
REALDATA_FLAG = "--config.data.realdata"
# kind -> the field that names what it reads.
SOURCE_FIELDS = {"real": "scene", "file": "path"}


@dataclasses.dataclass(frozen=True)
class Source:
  """One training source.

  Attributes:
    name: the entry's name in `config.data.sources`.
    kind: "real" or "file" (`SOURCE_FIELDS`).
    target: the real scene (name or .mat path) or the file (relative to data.root).
    weight: sampling weight (>= 0; the mixture draws source i with weight_i / sum).
    optional: leave a missing real scene out (one warning) instead of failing.
  """

  name: str
  kind: str
  target: str
  weight: float = 1.0
  optional: bool = False


def _parse(name: str, entry) -> Source:
  kind = entry.get("kind", None)
  if kind not in SOURCE_FIELDS:
    raise ValueError(f"config.data.sources.{name}.kind must be one of {sorted(SOURCE_FIELDS)}, "
                     f"got {kind!r}")
  field = SOURCE_FIELDS[kind]
  if field not in entry:
    raise ValueError(f"config.data.sources.{name} (kind {kind!r}) needs the field {field!r}")
  unknown = sorted(set(entry) - {"kind", field, "weight", "optional"})
  if unknown:
    raise ValueError(f"config.data.sources.{name}: unknown field(s) {unknown}; an entry has "
                     f"kind, {field}, weight, optional")
  try:
    weight = float(entry.get("weight", Source.weight))
  except (TypeError, ValueError):
    raise ValueError(f"config.data.sources.{name}.weight must be a number, got "
                     f"{entry.weight!r}") from None
  if not weight >= 0:
    raise ValueError(f"config.data.sources.{name}.weight must be >= 0, got {entry.weight}")
  return Source(name, kind, str(entry[field]), weight,
                bool(entry.get("optional", Source.optional)))


def _present(source: Source, realdata: str) -> bool:
  """Whether an optional real source's scene is there; warns (once per message) if not."""
  try:
    resolve_scene_path(source.target, realdata, REALDATA_FLAG)
  except FileNotFoundError as err:
    # One location (stacklevel=1): the default filter shows the message once per process.
    warnings.warn(f"optional training source left out: {err}", stacklevel=1)
    return False
  return True


def parse_sources(sources: ml_collections.ConfigDict | None, realdata: str
                  ) -> tuple[Source, ...]:
  """The training sources of `config.data.sources`, optional ones without a scene left out.

  Args:
    sources: the ConfigDict of entries (empty or None: train on `config.data.train`).
    realdata: the folder of the real scenes (`config.data.realdata`).

  Raises:
    ValueError: an unknown kind or field, a missing field or a bad weight (named).
  """
  parsed = [_parse(name, entry) for name, entry in (sources or {}).items()]
  return tuple(s for s in parsed
               if not (s.kind == "real" and s.optional and not _present(s, realdata)))
