"""Which catalog release a KfDef's ``spec.version`` selects.

Rules (``manifests/README.md``, "Releases"):

* a release name selects it: ``"26.03"``, ``"1.10"``; so do its tags and
  patch versions (``"v1.10.2"``, ``"1.10.0"``, ``"v26.03"``, ``"26.03.0"``,
  ``"v1.10-branch"``): what counts is the major and minor number;
* a kfctl 1.x-era version older than 1.10 (``"v1.2-branch"``, ``"v1.2.0"``,
  ``"v0.5.0"``) selects 1.10, the oldest release this kfctl has, with a warning;
* no ``spec.version``: the default release, with a warning to pin it;
* anything else is an error listing the known releases.

A catalog read from a flat folder (one anonymous release) takes any version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: the release a kfctl 1.x-era version (older than 1.10) is read as
LEGACY_RELEASE = "1.10"
_VERSION = re.compile(r"^[vV]?(\d+)\.(\d+)(?:\.\d+)?(?:-branch|[-+][0-9A-Za-z.-]*)?$")


@dataclass(frozen=True)
class ReleaseChoice:
    """The outcome: the release (None when the version is unknown) and a warning or an error text."""

    release: str | None
    warning: str | None = None
    error: str | None = None
    hint: str | None = None


def _numbers(text: str) -> tuple[int, int] | None:
    m = _VERSION.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def choose_release(version: str | None, releases: tuple[str, ...], default: str, *,
                   where: str = "spec.version") -> ReleaseChoice:
    """The release ``version`` selects among ``releases`` (names like "1.10"), or why none does."""
    if releases == ("",):  # a flat catalog: nothing to choose
        return ReleaseChoice("")
    if version is None:
        return ReleaseChoice(default, warning=(
            f"spec.version is not set: deploying the default release {default}; pin it "
            f"(version: \"{default}\") so that a newer kfctl does not change the release under this deployment"))
    known = ", ".join(releases)
    wanted = _numbers(version)
    if wanted is not None:
        for name in releases:
            if _numbers(name) == wanted:
                return ReleaseChoice(name)
        major, minor = wanted
        if (major == 0 or (major == 1 and minor < 10)) and LEGACY_RELEASE in releases:
            return ReleaseChoice(LEGACY_RELEASE, warning=(
                f"{where} {version!r} is a kfctl 1.x-era version this kfctl has no bundles for: deploying "
                f"Kubeflow {LEGACY_RELEASE}, the oldest release it has (set version: \"{LEGACY_RELEASE}\" "
                "to say so and silence this warning)"))
    return ReleaseChoice(None, error=f"unknown Kubeflow release {version!r}",
                         hint=f"known releases: {known} (\"v1.10.2\" or \"26.03.0\" select their release; "
                              f"remove spec.version for the default, {default})")


def downgrade(recorded: str | None, wanted: str | None) -> bool:
    """Whether applying release ``wanted`` over a deployment recorded as ``recorded`` goes back in time.

    Releases compare by their numbers ("1.10" < "26.03"); an unknown or missing side (a deployment
    recorded before releases existed, a flat test catalog) is never a downgrade.
    """
    old, new = _numbers(recorded or ""), _numbers(wanted or "")
    return old is not None and new is not None and new < old
