"""Mirrors: URL prefixes rewritten before kfctl fetches anything, for air-gapped installs.

A mirror maps a URL prefix to another, e.g. ``https://github.com/`` to an
internal Git server or artifact store that mirrors it. It applies to every
download kfctl makes for a KfDef: ``spec.repos[].uri`` archives, remote git
repositories and remote files named inside a repo's kustomizations. What kfctl
records (the lock file, its cache index) keeps the original URL, so the same
KfDef and lock work with and without a mirror, and the pins (commit, sha256)
are checked against what the mirror serves.

Two places, the environment first::

    KFCTL_MIRRORS="https://github.com/=https://git.corp.example/github/ https://dl.k8s.io/=https://art.corp/k8s/"

    # mirrors.yaml beside the KfDef
    mirrors:
      https://github.com/: https://git.corp.example/github/

The longest matching prefix wins; a prefix in ``KFCTL_MIRRORS`` overrides the
same prefix in ``mirrors.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kfctl.errors import InputError

ENV = "KFCTL_MIRRORS"
FILE = "mirrors.yaml"


@dataclass(frozen=True)
class Mirrors:
    #: prefix -> replacement
    table: dict[str, str] = field(default_factory=dict)

    def rewrite(self, url: str) -> str:
        best = max((p for p in self.table if url.startswith(p)), key=len, default=None)
        return url if best is None else self.table[best] + url[len(best):]

    def __bool__(self) -> bool:
        return bool(self.table)


def _from_env(text: str) -> dict[str, str]:
    table = {}
    for item in text.replace(",", " ").split():
        prefix, sep, target = item.partition("=")
        if not sep or not prefix or not target:
            raise InputError(f"{ENV}: {item!r} is not PREFIX=REPLACEMENT",
                             hint=f"{ENV}=\"https://github.com/=https://mirror.example/github/\"")
        table[prefix] = target
    return table


def _from_file(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the mirrors file: {exc}") from exc
    if data is None:
        return {}
    table = data.get("mirrors") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                              for k, v in table.items()):
        raise InputError(f"{path}: 'mirrors' must map URL prefixes to replacement prefixes",
                         hint="mirrors:\n  https://github.com/: https://mirror.example/github/")
    return dict(table)


def load_mirrors(kfdef_path: Path | None = None, environ: dict[str, str] | None = None) -> Mirrors:
    """The mirrors in effect for the KfDef at ``kfdef_path`` (``mirrors.yaml`` beside it, then ``$KFCTL_MIRRORS``)."""
    env = os.environ if environ is None else environ
    table: dict[str, str] = {}
    if kfdef_path is not None and (Path(kfdef_path).parent / FILE).is_file():
        table.update(_from_file(Path(kfdef_path).parent / FILE))
    table.update(_from_env(env.get(ENV, "")))
    return Mirrors(table)
