"""Golden files: a small KfDef's full output per platform, pinned byte for byte.

The KfDefs (``tests/data/render/kfdefs/<platform>.yaml``) use the fake
catalog, so other bundles' edits never move these files, and the user
overlay folder ``overlays/`` beside them. Regenerate after an intended change
with ``KFCTL_UPDATE_GOLDEN=1 pytest tests/render`` and review the diff.
"""

from __future__ import annotations

import os

import pytest

from kfctl.kinds import split_api_version
from kfctl.render import to_yaml
from kfctl.render.checks import all_problems
from kfctl.pipeline import render_kfdef

from render_paths import DATA, KFDEFS

PLATFORMS = ["generic", "local", "gcp", "aws", "azure"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden(fake_catalog, platform):
    _selection, rendering = render_kfdef(KFDEFS / f"{platform}.yaml", fake_catalog)
    text = to_yaml(rendering)
    golden = DATA / "golden" / f"{platform}.yaml"
    if os.environ.get("KFCTL_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden} differs: review, then regenerate with KFCTL_UPDATE_GOLDEN=1"


def test_golden_kfdef_values_are_literal_and_overlays_applied(fake_catalog):
    selection, rendering = render_kfdef(KFDEFS / "gcp.yaml", fake_catalog)
    assert selection.names == ("alpha", "beta", "istio")
    objs = {(r.kind, r.name): r.body for r in rendering.resources}
    env = objs[("Deployment", "beta")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["value"] == "{{ not evaluated }}"
    assert objs[("Ingress", "kubeflow-iap")]["metadata"]["annotations"][
        "kubernetes.io/ingress.global-static-ip-name"] == "kubeflow-ip"
    assert ("ConfigMap", "site-extra") in objs  # from overlays/ beside the KfDef
    assert rendering.request.namespace == "ml" and rendering.request.deployment == "demo"


def test_every_shipped_platform_has_a_golden(fake_catalog):
    assert sorted(fake_catalog.platforms) == sorted(PLATFORMS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden_objects_would_be_accepted_by_kubernetes(fake_catalog, platform):
    _selection, rendering = render_kfdef(KFDEFS / f"{platform}.yaml", fake_catalog)
    provided = [(split_api_version(k["apiVersion"])[0], k["kind"])
                for k in fake_catalog.platform(platform).raw.get("providedKinds", ())]
    problems = list(all_problems(rendering.resources, provided=provided))
    assert not problems, "\n".join(problems)
