"""The structural-schema checker against real CRDs: upstream Kubeflow 1.10's (test data only).

Every v1 CRD in the upstream tarball that upstream installs must pass (no
false alarms); Argo's "full" CRDs, which upstream does not install because
they are not structural, must be flagged (no blind spots).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from kfctl.render.checks import structural_problems
from shared_data import upstream_tarball

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _crds(tarball):
    with tarfile.open(tarball) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith((".yaml", ".yml")):
                continue
            data = tar.extractfile(member).read()
            if b"kind: CustomResourceDefinition" not in data:
                continue
            try:
                docs = list(yaml.load_all(data, Loader=_Loader))
            except yaml.YAMLError:
                continue  # kustomize patches and templates, not manifests
            for doc in docs:
                if not isinstance(doc, dict) or doc.get("apiVersion") != "apiextensions.k8s.io/v1":
                    continue
                if doc.get("kind") == "CustomResourceDefinition" and "versions" in (doc.get("spec") or {}):
                    yield member.name, doc


@pytest.fixture(scope="module")
def upstream_crds():
    return list(_crds(upstream_tarball("v1.10.2")))


def test_upstream_installed_crds_are_structural(upstream_crds):
    installed = [(path, crd) for path, crd in upstream_crds if "/argo/upstream/manifests/base/crds/full/" not in path]
    assert len({crd["metadata"]["name"] for _, crd in installed}) >= 60
    alarms = [f"{path}: {crd['metadata']['name']}: {problem}"
              for path, crd in installed for problem in structural_problems(crd)]
    assert not alarms, "\n".join(alarms[:20])


def test_argo_full_crds_are_flagged(upstream_crds):
    full = [crd for path, crd in upstream_crds if "/argo/upstream/manifests/base/crds/full/" in path]
    flagged = {crd["metadata"]["name"] for crd in full if structural_problems(crd)}
    assert "workflows.argoproj.io" in flagged
    assert any("properties.inline: every node needs a type" in p
               for p in structural_problems(next(c for c in full if c["metadata"]["name"] == "workflows.argoproj.io")))
