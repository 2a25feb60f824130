"""Edge rules: each infers one reason why an object must wait for another.

Every rule is a generator over the :class:`~kfctl.plan.index.Index` yielding
:class:`Edge` values with a human reason. Rules only add edges between objects
of the same deployment; what already exists in the cluster needs no waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kfctl.kinds import BUILTIN, split_api_version
from kfctl.plan.graph import Edge, Node, ObjectRef
from kfctl.plan.index import WORKLOAD_KINDS, Index, labels_match, pod_template


def namespaces(index: Index) -> Iterator[Edge]:
    """Namespace -> everything in it."""
    for node in index.nodes:
        if node.ref.namespace:
            ns = index.find("", "Namespace", "", node.ref.namespace)
            if ns:
                yield Edge(node.ref, ns, "lives in the namespace")


def crds(index: Index) -> Iterator[Edge]:
    """CustomResourceDefinition -> its custom resources."""
    crd_of = {}
    for node in index.nodes:
        if node.ref.kind == "CustomResourceDefinition":
            spec = node.manifest.get("spec") or {}
            crd_of[(spec.get("group"), (spec.get("names") or {}).get("kind"))] = node.ref
    for node in index.nodes:
        crd = crd_of.get((node.ref.group, node.ref.kind))
        if crd:
            yield Edge(node.ref, crd, "its kind is defined by the CRD")


def _pod_references(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(kind, name, why) of the objects a pod spec needs."""
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if sa:
        yield "ServiceAccount", sa, "runs as the service account"
    if spec.get("priorityClassName"):
        yield "PriorityClass", spec["priorityClassName"], "uses the priority class"
    for secret in spec.get("imagePullSecrets") or ():
        if secret.get("name"):
            yield "Secret", secret["name"], "pulls images with the secret"
    for volume in spec.get("volumes") or ():
        if (volume.get("configMap") or {}).get("name") and not volume["configMap"].get("optional"):
            yield "ConfigMap", volume["configMap"]["name"], "mounts the config map"
        if (volume.get("secret") or {}).get("secretName"):
            yield "Secret", volume["secret"]["secretName"], "mounts the secret"
        if (volume.get("persistentVolumeClaim") or {}).get("claimName"):
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], "mounts the claim"
        for source in (volume.get("projected") or {}).get("sources") or ():
            if (source.get("configMap") or {}).get("name"):
                yield "ConfigMap", source["configMap"]["name"], "mounts the config map"
            if (source.get("secret") or {}).get("name"):
                yield "Secret", source["secret"]["name"], "mounts the secret"
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        for env in container.get("env") or ():
            ref = (env.get("valueFrom") or {})
            if (ref.get("configMapKeyRef") or {}).get("name"):
                yield "ConfigMap", ref["configMapKeyRef"]["name"], "reads the config map"
            if (ref.get("secretKeyRef") or {}).get("name"):
                yield "Secret", ref["secretKeyRef"]["name"], "reads the secret"
        for env_from in container.get("envFrom") or ():
            if (env_from.get("configMapRef") or {}).get("name"):
                yield "ConfigMap", env_from["configMapRef"]["name"], "reads the config map"
            if (env_from.get("secretRef") or {}).get("name"):
                yield "Secret", env_from["secretRef"]["name"], "reads the secret"


_GROUP_OF = {"PriorityClass": "scheduling.k8s.io"}


def workload_references(index: Index) -> Iterator[Edge]:
    """ServiceAccount, ConfigMap, Secret, PVC, PriorityClass, StorageClass -> the workloads using them."""
    for node in index.workloads():
        template = pod_template(node.manifest)
        if template is None:
            continue
        for kind, name, why in _pod_references(template.get("spec") or {}):
            group = _GROUP_OF.get(kind, "")
            namespace = "" if kind == "PriorityClass" else node.ref.namespace
            dep = index.find(group, kind, namespace, name)
            if dep:
                yield Edge(node.ref, dep, why, applied_only=kind == "PersistentVolumeClaim")
        for claim in (node.manifest.get("spec") or {}).get("volumeClaimTemplates") or ():
            yield from _storage_class(index, node, claim.get("spec") or {})


def _storage_class(index: Index, node: Node, claim_spec: Mapping[str, Any]) -> Iterator[Edge]:
    name = claim_spec.get("storageClassName")
    if name:
        dep = index.find("storage.k8s.io", "StorageClass", "", name)
        if dep:
            yield Edge(node.ref, dep, "claims storage of the class")
        return
    if "storageClassName" in claim_spec:  # explicitly "": no class, no dynamic provisioning
        return
    for other in index.nodes:
        if other.ref.kind == "StorageClass" and other.ref.group == "storage.k8s.io":
            annotations = (other.manifest.get("metadata") or {}).get("annotations") or {}
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                yield Edge(node.ref, other.ref, "claims storage of the default class")


def _images(node: Node) -> list[str]:
    spec = (pod_template(node.manifest) or {}).get("spec") or {}
    return [str(c.get("image", "")) for c in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]]


#: objects no bundle renders that a controller publishes, and how to recognise that controller's workload
PUBLISHED: dict[tuple[str, str], tuple[str, Callable[[Node], bool]]] = {
    # istiod writes its CA into every namespace; the ingress gateway and sidecars mount it
    ("ConfigMap", "istio-ca-root-cert"): ("istiod", lambda n: any("/pilot:" in i for i in _images(n))),
}


def published(index: Index) -> Iterator[Edge]:
    """A workload mounting an object a controller publishes waits for that controller's workload."""
    publishers = {
        key: [n.ref for n in index.workloads() if test(n)] for key, (_, test) in PUBLISHED.items()
    }
    for node in index.workloads():
        template = pod_template(node.manifest) or {}
        for kind, name, _ in _pod_references(template.get("spec") or {}):
            key = (kind, name)
            if key not in PUBLISHED or index.find("", kind, node.ref.namespace, name):
                continue
            for publisher in publishers[key]:
                yield Edge(node.ref, publisher, f"mounts {kind} {name}, which {PUBLISHED[key][0]} publishes")


#: Kubeflow workloads that exit while a service they need is down, so they crash-loop (with
#: growing back-off, up to five minutes between restarts) when started too early. Upstream's
#: install has no such ordering; these names are the same in upstream's manifests and ours (1.10's
#: object store is the Deployment minio, 26.03's seaweedfs; an entry naming no Deployment adds no edge).
#: Each entry is (service's workload, why, together). A client that exits at once, or whose own
#: retry window is not much longer than its server's start-up (a database initialising its data
#: directory), waits for the server to be healthy. A client that retries for minutes and has no
#: readiness probe (its pod is ready while it retries) starts *together* with its server (the
#: edge only needs the server applied): its retry window covers the server's start-up, and the
#: two image pulls overlap instead of adding up.
RUNTIME_DEPENDENCIES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "ml-pipeline": (("mysql", "the Pipelines API server exits until MySQL answers (its startup probe: 60 s)", False),
                    ("minio", "the Pipelines API server exits until its object store answers", False),
                    ("seaweedfs", "the Pipelines API server exits until its object store answers (26.03: "
                     "SeaweedFS)", False)),
    "cache-server": (("mysql", "the cache server exits until MySQL answers (its liveness probe: 75 s)", False),),
    "metadata-grpc-deployment": (("mysql", "the ML Metadata server exits at once without MySQL", False),),
    "metadata-writer": (("metadata-grpc-deployment", "the metadata writer retries ML Metadata for 100 s, so it "
                         "starts with it", True),),
    "ml-pipeline-persistenceagent": (("ml-pipeline", "the persistence agent waits up to 2 minutes for the API "
                                      "server, so it starts with it", True),),
    "katib-db-manager": (("katib-mysql", "the Katib DB manager exits after 60 s without its MySQL", False),),
}


def runtime_dependencies(index: Index) -> Iterator[Edge]:
    """Known Kubeflow runtime dependencies between Deployments of one namespace (see the table)."""
    for node in index.workloads():
        if node.ref.kind != "Deployment":
            continue
        for name, why, together in RUNTIME_DEPENDENCIES.get(node.ref.name, ()):
            dep = index.find("apps", "Deployment", node.ref.namespace, name)
            if dep:
                yield Edge(node.ref, dep, why, applied_only=together)


def storage(index: Index) -> Iterator[Edge]:
    """StorageClass -> PersistentVolumeClaims of that class (or of the default class)."""
    for node in index.nodes:
        if node.ref.kind == "PersistentVolumeClaim" and node.ref.group == "":
            yield from _storage_class(index, node, node.manifest.get("spec") or {})


def rbac(index: Index) -> Iterator[Edge]:
    """Role -> bindings of it; bindings -> workloads running as a bound service account."""
    bound: dict[tuple[str, str], list[ObjectRef]] = {}
    for node in index.nodes:
        if node.ref.group != "rbac.authorization.k8s.io" or node.ref.kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        role_ref = node.manifest.get("roleRef") or {}
        role_ns = node.ref.namespace if role_ref.get("kind") == "Role" else ""
        role = index.find("rbac.authorization.k8s.io", str(role_ref.get("kind")), role_ns, str(role_ref.get("name")))
        if role:
            yield Edge(node.ref, role, "binds the role")
        for subject in node.manifest.get("subjects") or ():
            if subject.get("kind") == "ServiceAccount":
                ns = subject.get("namespace") or node.ref.namespace
                bound.setdefault((ns, subject.get("name")), []).append(node.ref)
    for node in index.workloads():
        template = pod_template(node.manifest) or {}
        sa = (template.get("spec") or {}).get("serviceAccountName") or "default"
        for binding in bound.get((node.ref.namespace, sa), ()):
            yield Edge(node.ref, binding, "its service account is granted permissions by the binding")


def certificates(index: Index) -> Iterator[Edge]:
    """Issuer -> Certificate; Certificate -> workloads mounting its Secret and webhooks injected from it."""
    secret_of: dict[tuple[str, str], ObjectRef] = {}
    for node in index.nodes:
        if node.ref.group != "cert-manager.io" or node.ref.kind != "Certificate":
            continue
        spec = node.manifest.get("spec") or {}
        if spec.get("secretName"):
            secret_of[(node.ref.namespace, spec["secretName"])] = node.ref
        issuer = spec.get("issuerRef") or {}
        kind = issuer.get("kind") or "Issuer"
        dep = index.find("cert-manager.io", kind, node.ref.namespace if kind == "Issuer" else "", str(issuer.get("name")))
        if dep:
            yield Edge(node.ref, dep, "is issued by the issuer")
    for node in index.workloads():
        template = pod_template(node.manifest) or {}
        for kind, name, _ in _pod_references(template.get("spec") or {}):
            cert = secret_of.get((node.ref.namespace, name)) if kind == "Secret" else None
            if cert:
                yield Edge(node.ref, cert, f"mounts secret {name} issued by the certificate")
    for node in index.nodes:
        annotations = (node.manifest.get("metadata") or {}).get("annotations") or {}
        source = annotations.get("cert-manager.io/inject-ca-from")
        if source and "/" in source:
            ns, name = source.split("/", 1)
            dep = index.find("cert-manager.io", "Certificate", ns, name)
            if dep:
                yield Edge(node.ref, dep, "its CA bundle is injected from the certificate")


def _rule_matches(rule: Mapping[str, Any], group: str, version: str, plural: str, namespaced: bool) -> bool:
    operations = rule.get("operations") or []
    if not ({"CREATE", "UPDATE", "*"} & set(operations)):
        return False
    groups = rule.get("apiGroups") or []
    versions = rule.get("apiVersions") or []
    resources = rule.get("resources") or []
    if "*" not in groups and group not in groups:
        return False
    if "*" not in versions and version not in versions:
        return False
    if "*" not in resources and "*/*" not in resources and plural not in resources:
        return False
    scope = rule.get("scope") or "*"
    return scope == "*" or (scope == "Namespaced") == namespaced


def _webhook_targets(index: Index, hook: Mapping[str, Any]) -> Iterator[tuple[ObjectRef, str]]:
    """Objects of the plan a webhook intercepts on create/update, including workloads whose pods it intercepts."""
    rules = hook.get("rules") or ()
    ns_selector = hook.get("namespaceSelector")
    obj_selector = hook.get("objectSelector")

    def ns_ok(node_ns: str, is_namespace_obj: bool, labels: Mapping[str, str]) -> bool:
        if is_namespace_obj:
            return labels_match(ns_selector, labels)
        if not node_ns:
            return True
        # A namespace outside the plan is taken to carry only the label every namespace gets
        # (kubernetes.io/metadata.name); if someone labelled it for a webhook, the apply meets the
        # webhook's refusal as a transient error and retries.
        return labels_match(ns_selector, index.labels_of_namespace(node_ns))

    for node in index.nodes:
        group, version = split_api_version(str(node.manifest.get("apiVersion", "")))
        info = index.info(node.ref)
        labels = (node.manifest.get("metadata") or {}).get("labels") or {}
        is_ns = node.ref.kind == "Namespace" and node.ref.group == ""
        if any(_rule_matches(r, group, version, info.plural, info.namespaced) for r in rules):
            if labels_match(obj_selector, labels) and ns_ok(node.ref.namespace, is_ns, labels):
                yield node.ref, f"is admitted by webhook {hook.get('name')}"
        if (node.ref.group, node.ref.kind) in WORKLOAD_KINDS and node.ref.kind != "Pod":
            if any(_rule_matches(r, "", "v1", "pods", True) for r in rules):
                template = pod_template(node.manifest) or {}
                pod_labels = (template.get("metadata") or {}).get("labels") or {}
                if labels_match(obj_selector, pod_labels) and ns_ok(node.ref.namespace, False, {}):
                    yield node.ref, f"its pods are admitted by webhook {hook.get('name')}"


def webhook_edges(index: Index) -> Iterator[Edge]:
    """Webhook configuration and the workload behind its Service -> every object it intercepts.

    Validating webhooks with failurePolicy Ignore admit everything while
    unreachable, so they order nothing; mutating ones still do, since their
    mutation would otherwise be silently skipped. The caller drops edges that
    would close a cycle (a webhook never waits for itself).
    """
    for node in index.nodes:
        if node.ref.group != "admissionregistration.k8s.io" or not node.ref.kind.endswith("WebhookConfiguration"):
            continue
        mutating = node.ref.kind.startswith("Mutating")
        for hook in node.manifest.get("webhooks") or ():
            if hook.get("failurePolicy", "Fail") == "Ignore" and not mutating:
                continue
            service = (hook.get("clientConfig") or {}).get("service") or {}
            backing = index.backing_workloads(str(service.get("namespace", "")), str(service.get("name", "")))
            for target, why in _webhook_targets(index, hook):
                if target in backing:  # a webhook's own server never waits for it
                    continue
                yield Edge(target, node.ref, why)
                for dep in backing:
                    yield Edge(target, dep, f"{why}, served by {dep}")


def component_order(index: Index, component_deps: Mapping[str, tuple[str, ...]]) -> Iterator[Edge]:
    """Component dependsOn: a component's custom resources wait for the workloads of the components it requires.

    A custom resource is served by some controller, often the required component's (katib's
    Issuer and Certificate by cert-manager), so it waits for that component's workloads. The
    component's own workloads do not: what they really need (CRDs, webhooks, certificates,
    config, the known runtime dependencies) has edges of its own, and making every workload
    wait for all of, say, cert-manager only delayed the databases on the critical path.
    """
    workloads_of: dict[str, list[ObjectRef]] = {}
    for node in index.workloads():
        workloads_of.setdefault(node.component, []).append(node.ref)
    for node in index.nodes:
        if (node.ref.group, node.ref.kind) in BUILTIN:
            continue
        for dep_component in component_deps.get(node.component, ()):
            for dep in workloads_of.get(dep_component, ()):
                yield Edge(node.ref, dep, f"component {node.component} depends on {dep_component}")

