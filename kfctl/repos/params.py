"""kfctl 1.x ``kustomizeConfig.parameters``: values written into the ``params.env`` files a package reads.

kfctl 1.x copied a package and rewrote the ``name=value`` lines of its
``params.env`` (the env file of a ``configMapGenerator``, from which
kustomize ``vars`` and, since Kubeflow 1.3, ``replacements`` take their
values). This module finds every env file that the kustomizations reachable
from the build target feed to a ``configMapGenerator`` (following local
``resources``, ``bases`` and ``components`` folders inside the repo), lists
the keys they declare, and rewrites the ones the user sets, in a private
copy of the repo, never in the cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def read_kustomization(folder: Path) -> dict[str, Any]:
    """The folder's kustomization as a mapping; {} when absent or unreadable (kustomize will say why)."""
    file = kustomization_file(folder)
    if file is None:
        return {}
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def reachable(targets: Iterable[Path], root: Path) -> list[Path]:
    """Kustomization folders under ``root`` that building ``targets`` reads, each once, in walk order."""
    root = Path(os.path.realpath(root))
    seen: set[Path] = set()
    order: list[Path] = []
    stack = [Path(os.path.realpath(t)) for t in reversed(list(targets))]
    while stack:
        folder = stack.pop()
        if folder in seen or not _inside(folder, root) or kustomization_file(folder) is None:
            continue
        seen.add(folder)
        order.append(folder)
        data = read_kustomization(folder)
        refs = [*_strings(data.get("resources")), *_strings(data.get("bases")), *_strings(data.get("components"))]
        for ref in reversed(refs):
            if "://" in ref or ref.startswith(("github.com/", "git@")):
                continue
            candidate = Path(os.path.realpath(folder / ref))
            if candidate.is_dir():
                stack.append(candidate)
    return order


@dataclass(frozen=True)
class EnvFile:
    """An env file a configMapGenerator reads, and the keys it declares, in file order."""

    path: Path
    keys: tuple[str, ...]


def _keys(path: Path) -> tuple[str, ...]:
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            keys.append(stripped.split("=", 1)[0].strip())
    return tuple(keys)


def env_files(folders: Iterable[Path], root: Path) -> list[EnvFile]:
    """The env files (inside ``root``) that the configMapGenerators of ``folders`` read."""
    root = Path(os.path.realpath(root))
    found: dict[Path, EnvFile] = {}
    for folder in folders:
        generators = read_kustomization(folder).get("configMapGenerator")
        for generator in generators if isinstance(generators, list) else []:
            if not isinstance(generator, dict):
                continue
            for name in [*_strings(generator.get("envs")), *_strings(generator.get("env"))]:
                path = Path(os.path.realpath(folder / name))
                if path not in found and _inside(path, root) and path.is_file():
                    try:
                        found[path] = EnvFile(path, _keys(path))
                    except (OSError, UnicodeDecodeError):
                        continue
    return list(found.values())


def as_text(value: Any) -> str | None:
    """A parameter value as kfctl 1.x wrote it into params.env; None if it cannot be one line of text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return None if "\n" in text or "\r" in text else text
    return None


def rewrite(files: Iterable[EnvFile], values: Mapping[str, str]) -> None:
    """Set ``key=value`` for every key in ``values`` that a file declares (replacing, never editing in place)."""
    for env in files:
        if not set(env.keys) & set(values):
            continue
        lines = []
        for line in env.path.read_text(encoding="utf-8").splitlines():
            key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
            lines.append(f"{key}={values[key]}" if key is not None and key in values else line)
        fd, tmp = tempfile.mkstemp(dir=env.path.parent, prefix=".kfctl-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, env.path)  # a new inode: the hard-linked original in the cache is untouched
