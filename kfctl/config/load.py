"""Read a KfDef file end to end and report every problem in it at once.

The stages, each able to add located problems: YAML (fatal ones stop here:
syntax, encoding, size, limits), the v1alpha1 refusal, the JSON Schema, the
cross-field checks of :mod:`kfctl.config.model`, and, when a catalog is given,
the catalog checks of :mod:`kfctl.config.selection`. Problems are sorted by
line so the report reads down the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kfctl.catalog import Catalog
from kfctl.config import model, schema, selection
from kfctl.config.legacy import LEGACY_API_VERSION, refuse_v1alpha1
from kfctl.config.yamlread import Document, parse_yaml, read_yaml
from kfctl.errors import ConfigError, Problem

#: what ``kfctl validate`` looks for, in order, when no file is given
DEFAULT_FILES = ("kfdef.yaml", "app.yaml")


#: a report longer than this shows the first problems and counts the rest
MAX_REPORTED = 50


def _error(problems: list[Problem]) -> ConfigError:
    unique = sorted(dict.fromkeys(problems), key=lambda p: (p.line or 0, p.column or 0))
    if len(unique) <= MAX_REPORTED:
        return ConfigError(unique)
    return ConfigError(unique[:MAX_REPORTED],
                       summary=f"{len(unique)} problems found (the first {MAX_REPORTED} are shown)")


def _stages(document: Document, yaml_problems: list[Problem], source: Path | None,
            default_name: str | None) -> tuple[model.KfDef, list[Problem], set[str | None]]:
    data = document.data
    if data.get("apiVersion") == LEGACY_API_VERSION:
        raise refuse_v1alpha1(data, document.source_map)
    problems = list(yaml_problems)
    # a value YAML could not read is None now: its schema complaint would only repeat the first one
    unreadable = {p.path for p in yaml_problems}
    problems += [p for p in schema.check_kfdef(data, lambda path, key: document.source_map.locate(path, key=key))
                 if p.path not in unreadable]
    kfdef, more = model.build(data, document.source_map, source=source, default_name=default_name)
    return kfdef, problems + more, unreadable


def _finish(kfdef: model.KfDef, problems: list[Problem], unreadable: set[str | None], catalog: Catalog | None,
            environ: Mapping[str, str] | None) -> selection.Selection | None:
    chosen = None
    if catalog is not None:
        chosen, more = selection.resolve_problems(kfdef, catalog, environ=environ)
        problems = problems + [p for p in more if p.path not in unreadable]
    if problems:
        raise _error(problems)
    return chosen


def load_kfdef(path: str | Path, *, display: str | None = None) -> model.KfDef:
    """Read and check a KfDef file without the catalog; raise ConfigError listing every problem."""
    document, yaml_problems = read_yaml(path, display=display)
    kfdef, problems, unreadable = _stages(document, yaml_problems, Path(path), None)
    _finish(kfdef, problems, unreadable, None, None)
    return kfdef


def parse_kfdef(text: str | bytes, *, file: str = "<kfdef>", default_name: str | None = None) -> model.KfDef:
    """Like :func:`load_kfdef` for text in memory; ``default_name`` stands in for a missing metadata.name."""
    document, yaml_problems = parse_yaml(text, file)
    kfdef, problems, unreadable = _stages(document, yaml_problems, None, default_name)
    _finish(kfdef, problems, unreadable, None, None)
    return kfdef


def validate_file(path: str | Path, catalog: Catalog, *, display: str | None = None,
                  environ: Mapping[str, str] | None = None) -> selection.Selection:
    """Read ``path`` and resolve it against ``catalog``: the Selection, or one ConfigError with everything."""
    document, yaml_problems = read_yaml(path, display=display)
    kfdef, problems, unreadable = _stages(document, yaml_problems, Path(path), None)
    chosen = _finish(kfdef, problems, unreadable, catalog, environ)
    assert chosen is not None
    return chosen


def find_default_file(folder: str | Path | None = None) -> Path:
    """``kfdef.yaml`` in ``folder`` (default: the working directory), else ``app.yaml`` (kfctl 0.5)."""
    base = Path(folder) if folder is not None else Path(os.getcwd())
    for name in DEFAULT_FILES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    raise ConfigError([Problem(f"no {' or '.join(DEFAULT_FILES)} here", file=str(base),
                               hint="pass -f FILE, or create one with `kfctl init DIR`")])
