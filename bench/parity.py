"""Parity of kfctl's 26.03 bundles with upstream Kubeflow 26.03, measured (issue #13 item 3).

For each component of 26.03's default set this builds upstream's corresponding
kustomize path(s) (``UPSTREAM_PATHS``) with ``kubectl kustomize`` and renders
kfctl's whole default set (release 26.03, platform ``generic``, optional
wiring on). Objects are matched across the whole set by (kind, namespace,
name), upstream's kustomize content hashes (``-<10 chars>`` on generated
ConfigMaps/Secrets) left out, so an object that kfctl renders in another
component than upstream's path (NetworkPolicies upstream keeps in
``common/kubeflow-namespace``) still matches. A matched object counts for the
kfctl component that renders it; a missing one for the component whose
upstream path has it.

Aspects compared on matched objects: container images (and every ``image``
field of other objects: serving and training runtimes), CRD served/storage
versions, CRD schemas (the top-level ``spec`` property names of each version,
and a hash of the whole schema), admission webhooks (entries, the Service each
calls, rules, namespace/object selectors), Service ports and container ports,
probes, apiVersions.

Every difference has a key, ``<component>:<aspect>:<what>``; the explained
ones are listed with their reasons in ``tests/manifests/parity_allowances.yaml``
(keys may use ``*`` wildcards; the reasons refer to manifests/README.md's
sections). ``tests/manifests/test_manifests_parity.py`` fails on any difference
without an allowance and on any allowance that explains nothing.

Run: ``.venv/bin/python bench/parity.py [--list] [--component NAME]``
(needs ``../shared/upstream``; about 30 s, most of it kustomize).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kfctl.catalog import load_catalog
from kfctl.kinds import BUILTIN, crd_kind_info
from kfctl.render import RenderRequest, render

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_UPSTREAM = (REPO_ROOT / ".." / "shared" / "upstream").resolve()
ALLOWANCES = REPO_ROOT / "tests" / "manifests" / "parity_allowances.yaml"
RELEASE = "26.03"
PLATFORM = "generic"

#: kfctl component -> upstream 26.03 kustomize paths (relative to the manifests root), as its
#: ``example/kustomization.yaml`` lists them (model-registry: its README's Kubeflow install)
UPSTREAM_PATHS: dict[str, tuple[str, ...]] = {
    "kubeflow-core": ("common/kubeflow-namespace/base", "common/kubeflow-roles/base",
                      "common/istio/kubeflow-istio-resources/base"),
    "cert-manager": ("common/cert-manager/overlays/kubeflow",),
    "istio": ("common/istio/istio-crds/base", "common/istio/istio-namespace/base",
              "common/istio/istio-install/overlays/oauth2-proxy"),
    "oauth2-proxy": ("common/oauth2-proxy/overlays/m2m-dex-only",),
    "dex": ("common/dex/overlays/oauth2-proxy",),
    "knative-serving": ("common/knative/knative-serving/overlays/gateways",
                        "common/istio/cluster-local-gateway/base"),
    "pipelines": ("applications/pipeline/overlays",),
    "katib": ("applications/katib/upstream/installs/katib-with-kubeflow",),
    "central-dashboard": ("applications/centraldashboard/overlays/oauth2-proxy",),
    "notebooks": ("applications/admission-webhook/upstream/overlays/cert-manager",
                  "applications/jupyter/jupyter-web-app/upstream/overlays/istio",
                  "applications/jupyter/notebook-controller/upstream/overlays/kubeflow"),
    "profiles": ("applications/profiles/pss",),
    "pvcviewer-controller": ("applications/pvcviewer-controller/upstream/base",),
    "volumes-web-app": ("applications/volumes-web-app/upstream/overlays/istio",),
    "tensorboard": ("applications/tensorboard/tensorboard-controller/upstream/overlays/kubeflow",
                    "applications/tensorboard/tensorboards-web-app/upstream/overlays/istio"),
    "trainer": ("applications/trainer/overlays",),
    "user-profile": ("common/user-namespace/base",),
    "kserve": ("applications/kserve/kserve",),
    "kserve-models-web-app": ("applications/kserve/models-web-app/overlays/kubeflow",),
    "spark-operator": ("applications/spark/spark-operator/overlays/kubeflow",),
    "model-registry": ("applications/model-registry/upstream/overlays/db",
                       "applications/model-registry/upstream/options/istio",
                       "applications/model-registry/upstream/options/ui/overlays/istio"),
}

#: where upstream's paths that set no namespace (model-registry's) are installed: ``kubectl apply -k ... -n kubeflow``
UPSTREAM_DEFAULT_NAMESPACE = "kubeflow"

#: 26.03 components in no default set: compared too, rendered beside the default set (their upstream
#: paths are the ones upstream's example leaves commented out)
OPTIONAL_PATHS: dict[str, tuple[str, ...]] = {
    "training-operator": ("applications/training-operator/upstream/overlays/kubeflow",),
    "knative-eventing": ("common/knative/knative-eventing/base",),
}
UPSTREAM_PATHS.update(OPTIONAL_PATHS)

ASPECTS = ("missing", "extra", "api-version", "image", "crd-versions", "crd-spec-fields", "crd-schema",
           "webhook", "service-ports", "container-ports", "probes")

_ARGO = re.compile(r"https://github\.com/argoproj/argo-workflows/manifests/(?P<path>[^?\s]+)\?ref=v3\.7\.3")
_LWS = "https://github.com/kubernetes-sigs/lws//config/default?ref=v0.7.0"
_JOBSET = "https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml"
#: kustomize's name hash: 10 characters of a sha256 hex digest with 0 1 3 a e replaced by g h k m t
_HASH = re.compile(r"-[2456789bcdfghkmt]{10}$")
_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


# -- upstream -------------------------------------------------------------------------------------

def local_tree(dest: Path, upstream: Path = SHARED_UPSTREAM) -> Path:
    """Upstream 26.03's tree under ``dest`` with its remote resources (argo, lws, jobset) as local paths."""
    with tarfile.open(upstream / "kubeflow-manifests-26.03.tar.gz") as tar:
        tar.extractall(dest, filter="data")
    root = dest / "manifests-26.03"
    remote = upstream / "remote"
    for name in ("argo-workflows-v3.7.3-manifests.tar.gz", "lws-v0.7.0-config.tar.gz"):
        with tarfile.open(remote / name) as tar:  # inside the tree: kustomize's load restrictor
            tar.extractall(root / "remote", filter="data")
    shutil.copy(remote / "jobset-v0.10.1-manifests.yaml",
                root / "applications/trainer/upstream/third-party/jobset/jobset-manifests.yaml")
    argo = root / "remote/argo-workflows-3.7.3/manifests"
    lws = root / "remote/lws-0.7.0/config/default"
    for path in root.rglob("kustomization.yaml"):
        text = path.read_text()
        new = _ARGO.sub(lambda m: os.path.relpath(argo / m.group("path"), path.parent), text)
        new = new.replace(_LWS, os.path.relpath(lws, path.parent)).replace(_JOBSET, "jobset-manifests.yaml")
        if new != text:
            path.write_text(new)
    return root


def kubectl() -> str:
    exe = Path(sys.executable).parent / "kubectl"
    return str(exe) if exe.exists() else (shutil.which("kubectl") or "kubectl")


def build(root: Path, path: str) -> list[dict]:
    """``kubectl kustomize`` of one upstream path: its objects."""
    out = subprocess.run([kubectl(), "kustomize", str(root / path)], check=True, capture_output=True,
                         text=True).stdout
    return [d for d in yaml.load_all(out, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]


def upstream_objects(upstream: Path = SHARED_UPSTREAM, components=None) -> dict[str, list[dict]]:
    """component -> the objects of its upstream paths (two kustomize builds at a time)."""
    components = list(components or UPSTREAM_PATHS)
    with tempfile.TemporaryDirectory(prefix="kfctl-parity-") as tmp:
        root = local_tree(Path(tmp), upstream)
        jobs = [(c, p) for c in components for p in UPSTREAM_PATHS[c]]
        with ThreadPoolExecutor(max_workers=2) as pool:
            built = list(pool.map(lambda job: build(root, job[1]), jobs))
    result: dict[str, list[dict]] = {c: [] for c in components}
    for (component, _), objs in zip(jobs, built):
        result[component].extend(objs)
    return result


# -- kfctl ----------------------------------------------------------------------------------------

def kfctl_objects(components=None) -> dict[str, list[dict]]:
    """component -> kfctl's rendering of it within 26.03's default set on ``generic``.

    An optional component (``OPTIONAL_PATHS``) is rendered with the default set
    plus the optional ones; the default components' objects come from the
    default set alone, so the optional ones never change them.
    """
    catalog = load_catalog(release=RELEASE)
    default = [c for c in catalog.platform(PLATFORM).components if c in catalog.components]
    components = list(components or compared_components())
    result: dict[str, list[dict]] = {c: [] for c in components}
    optional = [c for c in components if c not in default]
    for selection, take in ((default, set(components) - set(optional)), (default + optional, set(optional))):
        if not take:
            continue
        order = catalog.resolve(selection).order
        for resource in render(RenderRequest(platform=PLATFORM, components=order), catalog).resources:
            if resource.component in take:
                result[resource.component].append(resource.to_dict())
    return result


def default_components() -> list[str]:
    catalog = load_catalog(release=RELEASE)
    return list(catalog.platform(PLATFORM).components)


def compared_components() -> list[str]:
    """26.03's default set on ``generic``, then the optional components of ``OPTIONAL_PATHS``."""
    return default_components() + [c for c in OPTIONAL_PATHS if c not in default_components()]


# -- comparison -----------------------------------------------------------------------------------

@dataclass
class Row:
    component: str
    upstream: int = 0
    kfctl: int = 0
    matched: int = 0
    differences: list[str] = field(default_factory=list)

    def count(self, aspect: str) -> int:
        return sum(1 for d in self.differences if d.split(":", 2)[1] == aspect)


def _cluster_scoped(all_objs: list[dict]) -> set[str]:
    kinds = {kind for (_, kind), info in BUILTIN.items() if not info.namespaced}
    for obj in all_objs:
        if obj.get("kind") == "CustomResourceDefinition":
            info = crd_kind_info(obj)
            if info is not None and not info.namespaced:
                kinds.add(info.kind)
    return kinds


def object_key(obj: dict, cluster_kinds: set[str], upstream: bool) -> str:
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped); upstream's names without their hash."""
    kind = obj["kind"]
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    if upstream and kind in ("ConfigMap", "Secret"):
        name = _HASH.sub("", name)
    namespace = "" if kind in cluster_kinds else meta.get("namespace", "")
    if upstream and not namespace and kind not in cluster_kinds:
        namespace = UPSTREAM_DEFAULT_NAMESPACE  # a path installed with ``kubectl apply -n kubeflow``
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def _containers(obj: dict) -> dict[str, dict]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if obj["kind"] in _WORKLOADS + ("CronJob",) else {}
    out = {}
    for group in ("initContainers", "containers"):
        for c in pod.get(group) or []:
            out[c["name"]] = c
    return out


def _images(value) -> set[str]:
    """Every string under a key ``image`` (or ``...-image``, ``...Image``) anywhere in an object;
    ConfigMap values holding JSON (KServe's ``inferenceservice-config``) are read too."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str) and (k == "image" or k.endswith("-image") or k.endswith("Image")):
                found.add(v)
            elif isinstance(v, str) and v.lstrip().startswith("{"):
                try:
                    found |= _images(json.loads(v))
                except ValueError:
                    pass
            else:
                found |= _images(v)
    elif isinstance(value, list):
        for item in value:
            found |= _images(item)
    return found


def _probe(probe: dict | None):
    if not probe:
        return None
    p = {**_PROBE_DEFAULTS, **probe}
    if "httpGet" in p:
        p["httpGet"] = {"scheme": "HTTP", **p["httpGet"]}
    return p


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _short_hash(value) -> str:
    return hashlib.sha256(_canon(value).encode()).hexdigest()[:12]


def _crd_versions(crd: dict) -> dict[str, dict]:
    return {v["name"]: v for v in crd.get("spec", {}).get("versions", [])}


def _webhooks(cfg: dict) -> dict[str, dict]:
    out = {}
    for hook in cfg.get("webhooks") or []:
        rules = sorted(_canon({k: sorted(v) if isinstance(v, list) else v for k, v in r.items()})
                       for r in hook.get("rules") or [])
        service = dict((hook.get("clientConfig") or {}).get("service") or {})
        service.setdefault("port", 443)
        out[hook["name"]] = {"rules": rules, "service": service,
                             "namespaceSelector": hook.get("namespaceSelector") or {},
                             "objectSelector": hook.get("objectSelector") or {}}
    return out


def _service_ports(svc: dict):
    return sorted(_canon({"port": p.get("port"), "targetPort": str(p.get("targetPort", p.get("port"))),
                          "protocol": p.get("protocol", "TCP")})
                  for p in svc.get("spec", {}).get("ports") or [])


def _spec_fields_change(ufields: set, kfields: set, uspec: dict, kspec: dict) -> str:
    """How kfctl's top-level spec fields differ from upstream's.

    ``trimmed``: kfctl types fewer fields and keeps the rest as unknown fields
    (``x-kubernetes-preserve-unknown-fields``), so nothing upstream accepts is lost;
    ``typed``: kfctl types fields upstream leaves free-form (it preserves unknown
    fields too); ``pruned``: a field upstream has would be dropped by kfctl's
    schema (a defect, never allowed).
    """
    kf_preserves = bool(kspec.get("x-kubernetes-preserve-unknown-fields"))
    up_preserves = bool(uspec.get("x-kubernetes-preserve-unknown-fields"))
    if ufields - kfields and not kf_preserves:
        return "pruned"
    if kfields - ufields and not (up_preserves or not uspec):
        return "pruned"  # kfctl types a field upstream's schema does not accept
    return "trimmed" if kfields <= ufields else "typed" if ufields <= kfields else "reshaped"


def compare_objects(key: str, up: dict, kf: dict) -> list[str]:
    """``aspect:detail`` for each difference between an upstream object and kfctl's."""
    diffs = []
    kind = up["kind"]
    if up.get("apiVersion") != kf.get("apiVersion"):
        diffs.append(f"api-version:{key}:{up.get('apiVersion')}->{kf.get('apiVersion')}")
    if kind in _WORKLOADS + ("CronJob",):
        uc, kc = _containers(up), _containers(kf)
        for name in sorted(set(uc) | set(kc)):
            u, k = uc.get(name), kc.get(name)
            if u is None or k is None:  # a container only one side runs
                diffs.append(f"image:{key}/{name}:{'missing' if k is None else 'extra'}")
                continue
            if u.get("image") != k.get("image"):
                diffs.append(f"image:{key}/{name}:{k.get('image')}")
            uports = sorted(_canon({"containerPort": p["containerPort"], "protocol": p.get("protocol", "TCP")})
                            for p in u.get("ports") or [])
            kports = sorted(_canon({"containerPort": p["containerPort"], "protocol": p.get("protocol", "TCP")})
                            for p in k.get("ports") or [])
            if uports != kports:
                diffs.append(f"container-ports:{key}/{name}")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                up_probe, kf_probe = _probe(u.get(probe)), _probe(k.get(probe))
                if up_probe != kf_probe:
                    how = "added" if up_probe is None else "removed" if kf_probe is None else "changed"
                    diffs.append(f"probes:{key}/{name}/{probe}:{how}")
    elif _images(up) != _images(kf):  # images in other objects: serving runtimes, training runtimes, ...
        diffs.append(f"image:{key}:{','.join(sorted(_images(kf) - _images(up))) or '-'}")
    if kind == "Service":
        if _service_ports(up) != _service_ports(kf):
            diffs.append(f"service-ports:{key}")
    elif kind == "CustomResourceDefinition":
        uv, kv = _crd_versions(up), _crd_versions(kf)
        shape = lambda vs: {n: (v.get("served"), v.get("storage")) for n, v in vs.items()}  # noqa: E731
        if shape(uv) != shape(kv):
            diffs.append(f"crd-versions:{key}")
        for name in sorted(set(uv) & set(kv)):
            us = uv[name].get("schema", {}).get("openAPIV3Schema", {})
            ks = kv[name].get("schema", {}).get("openAPIV3Schema", {})
            uspec = us.get("properties", {}).get("spec", {})
            kspec = ks.get("properties", {}).get("spec", {})
            ufields, kfields = set(uspec.get("properties", {})), set(kspec.get("properties", {}))
            if ufields != kfields:
                diffs.append(f"crd-spec-fields:{key}/{name}:{_spec_fields_change(ufields, kfields, uspec, kspec)}")
            elif _short_hash(us) != _short_hash(ks):
                diffs.append(f"crd-schema:{key}/{name}")
    elif kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        uw, kw = _webhooks(up), _webhooks(kf)
        for name in sorted(set(uw) | set(kw)):
            if name not in uw or name not in kw:
                diffs.append(f"webhook:{key}/{name}/{'extra' if name in kw else 'missing'}")
                continue
            for part in ("service", "rules", "namespaceSelector", "objectSelector"):
                if uw[name][part] != kw[name][part]:
                    diffs.append(f"webhook:{key}/{name}/{part}")
    return diffs


def compare(upstream: dict[str, list[dict]], kfctl: dict[str, list[dict]]) -> list[Row]:
    """One row per component: counts and every difference key (``component:aspect:what``)."""
    cluster_kinds = _cluster_scoped([o for objs in (*upstream.values(), *kfctl.values()) for o in objs])
    up_index: dict[str, tuple[str, dict]] = {}
    rows = {c: Row(c) for c in kfctl}
    for component, objs in upstream.items():
        rows.setdefault(component, Row(component))
        for obj in objs:
            key = object_key(obj, cluster_kinds, upstream=True)
            if key not in up_index:  # two paths may both ship an object (a namespace): count it once
                up_index[key] = (component, obj)
                rows[component].upstream += 1
    kf_index: dict[str, tuple[str, dict]] = {}
    for component, objs in kfctl.items():
        rows[component].kfctl = len(objs)
        for obj in objs:
            kf_index[object_key(obj, cluster_kinds, upstream=False)] = (component, obj)
    for key, (component, obj) in kf_index.items():
        row = rows[component]
        if key not in up_index:
            row.differences.append(f"{component}:extra:{key}")
            continue
        row.matched += 1
        row.differences.extend(f"{component}:{d}" for d in compare_objects(key, up_index[key][1], obj))
    for key, (component, _) in up_index.items():
        if key not in kf_index:
            rows[component].differences.append(f"{component}:missing:{key}")
    return list(rows.values())


# -- allowances -----------------------------------------------------------------------------------

def load_allowances(path: Path = ALLOWANCES) -> dict[str, str]:
    """Difference-key pattern -> reason, from the allowances file (``allowances:`` mapping)."""
    data = yaml.safe_load(path.read_text()) or {}
    allowances = data.get("allowances") or {}
    for pattern, reason in allowances.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}: allowance {pattern!r} has no reason")
    return allowances


def explain(differences: list[str], allowances: dict[str, str]) -> tuple[dict[str, str], list[str], set[str]]:
    """(explained key -> its pattern, unexplained keys, patterns used)."""
    explained, unexplained, used = {}, [], set()
    for diff in differences:
        pattern = next((p for p in allowances if fnmatch.fnmatchcase(diff, p)), None)
        if pattern is None:
            unexplained.append(diff)
        else:
            explained[diff] = pattern
            used.add(pattern)
    return explained, unexplained, used


# -- report ---------------------------------------------------------------------------------------

def table(rows: list[Row], allowances: dict[str, str]) -> str:
    short = {"missing": "miss", "extra": "extra", "api-version": "apiv", "image": "img", "crd-versions": "crdv",
             "crd-spec-fields": "crdf", "crd-schema": "crds", "webhook": "whk", "service-ports": "svcp",
             "container-ports": "ctrp", "probes": "prob"}
    head = (f"{'component':<22} {'up':>4} {'kfctl':>5} {'match':>5} "
            + " ".join(f"{short[a]:>5}" for a in ASPECTS) + f" {'expl':>5} {'unexpl':>6}")
    lines = [head, "-" * len(head)]
    totals = [0] * (4 + len(ASPECTS) + 1)
    for row in rows:
        explained, unexplained, _ = explain(row.differences, allowances)
        counts = [row.upstream, row.kfctl, row.matched] + [row.count(a) for a in ASPECTS]
        counts += [len(explained), len(unexplained)]
        totals = [t + c for t, c in zip(totals + [0], counts)][:len(counts)]
        lines.append(f"{row.component:<22} {counts[0]:>4} {counts[1]:>5} {counts[2]:>5} "
                     + " ".join(f"{c:>5}" for c in counts[3:3 + len(ASPECTS)])
                     + f" {counts[-2]:>5} {counts[-1]:>6}")
    lines.append("-" * len(head))
    lines.append(f"{'total':<22} {totals[0]:>4} {totals[1]:>5} {totals[2]:>5} "
                 + " ".join(f"{c:>5}" for c in totals[3:3 + len(ASPECTS)])
                 + f" {totals[-2]:>5} {totals[-1]:>6}")
    legend = ", ".join(f"{short[a]}={a}" for a in ASPECTS)
    lines.append(f"up/kfctl: objects; match: kfctl objects found upstream; {legend}; "
                 f"expl/unexpl: differences with/without an allowance in {ALLOWANCES.relative_to(REPO_ROOT)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every difference with its reason")
    parser.add_argument("--unexplained", action="store_true", help="list only the unexplained differences")
    parser.add_argument("--component", action="append", help="only this component (repeatable)")
    parser.add_argument("--upstream", type=Path, default=SHARED_UPSTREAM, help="shared/upstream folder")
    args = parser.parse_args(argv)
    if not (args.upstream / "kubeflow-manifests-26.03.tar.gz").exists():
        print(f"parity: {args.upstream}/kubeflow-manifests-26.03.tar.gz not found", file=sys.stderr)
        return 2
    components = compared_components()
    rows = compare(upstream_objects(args.upstream, components), kfctl_objects(components))
    if args.component:
        rows = [r for r in rows if r.component in args.component]
    allowances = load_allowances()
    print(table(rows, allowances))
    unexplained_total = 0
    for row in rows:
        explained, unexplained, _ = explain(row.differences, allowances)
        unexplained_total += len(unexplained)
        if args.list or args.unexplained:
            for diff in row.differences:
                if diff in explained and args.list:
                    print(f"  {diff}\n      -> {allowances[explained[diff]]}")
                elif diff not in explained:
                    print(f"  {diff}\n      -> UNEXPLAINED")
    return 1 if unexplained_total else 0


if __name__ == "__main__":
    sys.exit(main())
