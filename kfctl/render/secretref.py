"""Parameters that take their value from a KfDef secret, and keeping those values out of files.

A KfDef parameter may say ``valueFrom: {secret: NAME}`` (for parameters a
component marks ``x-kfctl-secret``). Templates see such a value like any
other (so Dex's bcrypt hash and the pod-template checksums keep working);
what differs is which value:

* ``kfctl apply`` and ``kfctl diff`` read the real values
  (:func:`kfctl.config.secret_values`) and render with them: the Secrets reach
  the cluster, and each object's hash (a digest) changes with the value, so a
  changed password re-applies exactly the objects that hold it;
* everything that writes or prints files (``generate``, ``show``, ``apply
  --dry-run``) never reads them: each secret becomes a :func:`placeholder`,
  and the deployment is rendered a second time with other placeholders. A
  Secret whose data differs between the two renderings holds (or is derived
  from) a KfDef secret: :func:`withhold` replaces those keys by a note in
  ``stringData`` and annotates the Secret, and ``kfctl generate`` writes such
  Secrets into ``secrets.example.yaml`` outside the kustomization (see
  :mod:`kfctl.render.writer`). Comparing two renderings finds derived values
  too (a bcrypt hash, a base64 inside a config file), which searching for the
  placeholder text would not.

Placeholders are 32 hexadecimal characters, so they satisfy the length and
character rules of every secret parameter the bundles declare (a cookie
secret must have 16, 24 or 32 characters).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from kfctl.render.model import Bundle, Rendering, Resource, freeze, thaw

#: annotation on a Secret whose values ``show``/``generate`` withheld
WITHHELD_ANNOTATION = "kfctl.dev/secret-values"
WITHHELD = "withheld"


def placeholder(secret: str, variant: str = "a") -> str:
    """The stand-in value of KfDef secret ``secret``: deterministic, 32 hex characters."""
    return hashlib.sha256(f"kfctl-placeholder\0{variant}\0{secret}".encode()).hexdigest()[:32]


def placeholders(names: set[str], variant: str = "a") -> dict[str, str]:
    return {name: placeholder(name, variant) for name in sorted(names)}


def referenced(components: Any) -> dict[str, set[str]]:
    """Component -> names of the KfDef secrets its parameters take (``valueFrom``), for those taking any."""
    return {comp.name: set(comp.secrets.values()) for comp in components if comp.secrets}


def _decode(value: Any) -> str | None:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _note(decoded: str | None, used: Mapping[str, str], component: str, source: str) -> str:
    for name, value in used.items():
        if decoded == value:
            return f"<withheld: the value of KfDef secret {name}>"
    for name, value in used.items():
        if decoded is not None and value in decoded:
            return f"<withheld: text holding the value of KfDef secret {name}; see {source}>"
    names = ", ".join(used) or "a KfDef secret"
    return f"<withheld: derived from {names} by {source} ({component}); kfctl apply computes it>"


def _withheld_secret(res: Resource, other: Resource, used: Mapping[str, str]) -> Resource:
    body = thaw(res.body)
    data = dict(body.get("data") or {})
    other_data = dict(thaw(other.body).get("data") or {})
    notes = {}
    for key in sorted(data):
        if data[key] != other_data.get(key):
            notes[key] = _note(_decode(data[key]), used, res.component, res.source)
            del data[key]
    if not notes:
        return res
    kept = {key: _decode(value) for key, value in data.items()}
    if all(v is not None for v in kept.values()):  # the rest readable too: one stringData, in key order
        body.pop("data", None)
        body["stringData"] = {k: kept.get(k) if k in kept else notes[k] for k in sorted({*kept, *notes})}
    else:
        body["data"] = data
        body["stringData"] = notes
    meta = body.setdefault("metadata", {})
    meta.setdefault("annotations", {})[WITHHELD_ANNOTATION] = (
        f"{WITHHELD}: {', '.join(sorted(notes))} (from KfDef secrets; kfctl apply writes the real values)")
    return dataclasses.replace(res, body=freeze(body))


def withhold(rendering: Rendering, other: Rendering, used: Mapping[str, str],
             owners: Mapping[str, set[str]] | None = None) -> Rendering:
    """``rendering`` with every Secret value that differs in ``other`` (rendered with other placeholders)
    replaced by a note. ``used``: secret name -> the placeholder ``rendering`` was made with; ``owners``:
    component -> the secrets it takes (to name them in a note; all of ``used`` when unknown)."""
    others = {r.key: r for r in other.resources}
    bundles = []
    for bundle in rendering.bundles:
        resources = []
        for res in bundle.resources:
            twin = others.get(res.key)
            if res.kind == "Secret" and res.group == "" and twin is not None and twin.body != res.body:
                mine = (owners or {}).get(res.component)
                res = _withheld_secret(res, twin, {k: v for k, v in used.items() if not mine or k in mine})
            resources.append(res)
        bundles.append(Bundle(component=bundle.component, version=bundle.version, resources=tuple(resources)))
    return dataclasses.replace(rendering, bundles=tuple(bundles))


def is_withheld(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(WITHHELD_ANNOTATION, "")).startswith(WITHHELD)


def render_without_values(owners: Mapping[str, set[str]],
                          render: Callable[[Mapping[str, str]], Rendering]) -> Rendering:
    """Render with placeholders for the KfDef secrets components take (``owners``: component -> secret
    names), Secrets holding them withheld. Without any, one plain rendering."""
    names = {name for secrets in owners.values() for name in secrets}
    first = placeholders(names, "a")
    rendering = render(first)
    if not names:
        return rendering
    return withhold(rendering, render(placeholders(names, "b")), first, owners)
