"""Where the shipped data lives: ``manifests/`` (component bundles) and ``platforms/``.

In a source checkout (and an editable install) they sit at the repository root,
beside the package; an installed wheel carries them inside the package as
``kfctl/_data/``. Everything that reads bundles asks here, never guesses.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """Return the folder that holds ``manifests/`` and ``platforms/``."""
    packaged = _PACKAGE / "_data"
    if (packaged / "manifests").is_dir():
        return packaged
    return _PACKAGE.parent


def manifests_dir() -> Path:
    return data_root() / "manifests"


def platforms_dir() -> Path:
    return data_root() / "platforms"
