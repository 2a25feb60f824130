"""RBAC for the sim's non-admin users: who may do what, decided from the stored Roles and bindings.

An admin installing Kubeflow often holds a token that may not create
ClusterRoles; kfctl must find that out before it writes anything (a
SelfSubjectAccessReview per verb and kind) and report a refused write as the
real API server does. A shape file's ``users`` (:mod:`kfctl.sim.shape`) get
bearer tokens whose requests this module authorizes exactly as the RBAC
authorizer does: the rules of every ClusterRoleBinding and (in the request's
namespace) RoleBinding naming the user, one of its groups
(``system:authenticated`` always) or, for ``system:serviceaccount:ns:name``
users, that ServiceAccount; ClusterRoles with an ``aggregationRule`` take the
rules of every ClusterRole their selectors match, read at each check. The
admin token stays all-powerful, as ``system:masters`` is on a real cluster.

A denied request gets the real 403 Status (``pods "x" is forbidden: User
"alice" cannot get resource "pods" in API group "" in the namespace "ns"``);
:func:`access_review` and :func:`rules_review` answer SelfSubjectAccessReview
and SelfSubjectRulesReview from the same rules. :func:`default_cluster_roles`
are the roles a kubeadm cluster starts with, trimmed (the sim writes them only
when a shape has users).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kfctl.sim.status import APIError, qualified
from kfctl.sim.store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    """An authenticated identity; ``admin`` bypasses authorization (the sim's own token)."""

    name: str
    groups: tuple[str, ...] = ()
    admin: bool = False

    @property
    def all_groups(self) -> tuple[str, ...]:
        return (*self.groups, AUTHENTICATED)


ADMIN = User("kubernetes-admin", ("system:masters",), admin=True)


@dataclass(frozen=True)
class Attributes:
    """What a request asks: a verb on a resource (``resource`` set) or on a non-resource ``path``."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


# -- rule matching (as k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac does) ------------------------------


def _has(values: Iterable[str] | None, wanted: str) -> bool:
    values = list(values or [])
    return "*" in values or wanted in values


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1])):
                return True
        return False
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    if not _has(rule.get("apiGroups"), attrs.group):
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    if not ("*" in resources or combined in resources or
            (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


class Authorizer:
    """Decides requests of non-admin users from the RBAC objects in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- which rules apply ------------------------------------------------
    def _cluster_role_rules(self, name: str, seen: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        role = self.store.get(RBAC_GROUP, "clusterroles", "", name)
        if role is None:
            return []
        rules = list(role.get("rules") or [])
        aggregation = role.get("aggregationRule")
        if aggregation and name not in seen:
            items, _ = self.store.list(RBAC_GROUP, "clusterroles")
            for other in items:
                other_name = other["metadata"]["name"]
                if other_name == name:
                    continue
                labels = other["metadata"].get("labels") or {}
                if any(_selector_matches(s, labels) for s in aggregation.get("clusterRoleSelectors") or []):
                    rules += other.get("rules") or []
        return rules

    def _subject_matches(self, subject: dict[str, Any], user: User, binding_ns: str) -> bool:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User":
            return name == user.name
        if kind == "Group":
            return name in user.all_groups
        if kind == "ServiceAccount":
            ns = subject.get("namespace") or binding_ns
            return user.name == f"system:serviceaccount:{ns}:{name}"
        return False

    def grants(self, user: User, namespace: str) -> list[tuple[str, list[dict[str, Any]]]]:
        """(how it is granted, rules) for every binding of ``user`` that applies in ``namespace`` ("" = cluster)."""
        out: list[tuple[str, list[dict[str, Any]]]] = []
        bindings, _ = self.store.list(RBAC_GROUP, "clusterrolebindings")
        for binding in bindings:
            if any(self._subject_matches(s, user, "") for s in binding.get("subjects") or []):
                ref = binding.get("roleRef") or {}
                out.append((f'ClusterRoleBinding "{binding["metadata"]["name"]}" of ClusterRole "{ref.get("name")}"',
                            self._cluster_role_rules(ref.get("name", ""))))
        if namespace:
            role_bindings, _ = self.store.list(RBAC_GROUP, "rolebindings", namespace)
            for binding in role_bindings:
                if not any(self._subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                    continue
                ref = binding.get("roleRef") or {}
                if ref.get("kind") == "ClusterRole":
                    rules = self._cluster_role_rules(ref.get("name", ""))
                else:
                    role = self.store.get(RBAC_GROUP, "roles", namespace, ref.get("name", ""))
                    rules = list((role or {}).get("rules") or [])
                how = f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of {ref.get("kind")} ' \
                      f'"{ref.get("name")}"'
                out.append((how, rules))
        return out

    # -- decisions ----------------------------------------------------------
    def decide(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, the RBAC authorizer's reason)."""
        if user.admin:
            return True, ""
        for how, rules in self.grants(user, attrs.namespace if attrs.is_resource else ""):
            if any(rule_allows(rule, attrs) for rule in rules):
                return True, f'RBAC: allowed by {how} to User "{user.name}"'
        return False, ""

    def authorize(self, user: User, attrs: Attributes) -> None:
        """Raise the real 403 unless ``user`` may do ``attrs``."""
        allowed, _ = self.decide(user, attrs)
        if not allowed:
            raise forbidden(user, attrs)


def forbidden(user: User, attrs: Attributes) -> APIError:
    if not attrs.is_resource:
        return APIError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"',
                        details={})
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    why = f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {scope}'
    subject = qualified(attrs.resource, attrs.group)
    who = f'{subject} "{attrs.name}"' if attrs.name else subject
    details: dict[str, Any] = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    details["kind"] = attrs.resource
    return APIError(403, "Forbidden", f"{who} is forbidden: {why}", details=details)


def access_review(authorizer: Authorizer, user: User, spec: dict[str, Any]) -> dict[str, Any]:
    """The ``status`` of a SelfSubjectAccessReview with this ``spec``."""
    if user.admin:
        return {"allowed": True}
    resource = spec.get("resourceAttributes")
    if resource:
        attrs = Attributes(verb=resource.get("verb", ""), group=resource.get("group", ""),
                           resource=resource.get("resource", ""), subresource=resource.get("subresource", ""),
                           namespace=resource.get("namespace", ""), name=resource.get("name", ""))
    else:
        non = spec.get("nonResourceAttributes") or {}
        attrs = Attributes(verb=non.get("verb", ""), path=non.get("path", ""))
    allowed, reason = authorizer.decide(user, attrs)
    out: dict[str, Any] = {"allowed": allowed}
    if reason:
        out["reason"] = reason
    return out


def rules_review(authorizer: Authorizer, user: User, namespace: str) -> dict[str, Any]:
    """The ``status`` of a SelfSubjectRulesReview for ``namespace``."""
    if user.admin:
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    resource_rules: list[dict[str, Any]] = []
    non_resource: list[dict[str, Any]] = []
    for _, rules in authorizer.grants(user, namespace):
        for rule in rules:
            if rule.get("nonResourceURLs"):
                entry = {"verbs": list(rule.get("verbs") or []), "nonResourceURLs": list(rule["nonResourceURLs"])}
                if entry not in non_resource:
                    non_resource.append(entry)
            if rule.get("resources"):
                entry = {k: list(rule[k]) for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
                entry.setdefault("apiGroups", [])
                if entry not in resource_rules:
                    resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


# -- the roles a cluster starts with ---------------------------------------------------------------------------

_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_VIEW_CORE = ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "configmaps",
              "persistentvolumeclaims", "persistentvolumeclaims/status", "replicationcontrollers",
              "serviceaccounts", "events", "limitranges", "resourcequotas", "resourcequotas/status", "namespaces",
              "namespaces/status", "bindings"]
_WORKLOADS = {"apps": ["deployments", "deployments/scale", "deployments/status", "daemonsets", "daemonsets/status",
                       "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale",
                       "statefulsets/status", "controllerrevisions"],
              "batch": ["jobs", "jobs/status", "cronjobs", "cronjobs/status"],
              "autoscaling": ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
              "policy": ["poddisruptionbudgets", "poddisruptionbudgets/status"],
              "networking.k8s.io": ["ingresses", "ingresses/status", "networkpolicies"],
              "discovery.k8s.io": ["endpointslices"]}


def _role(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None,
          aggregate: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
                            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
    role: dict[str, Any] = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": meta,
                            "rules": rules}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate}": "true"}}]}
    return role


def _agg_labels(*names: str) -> dict[str, str]:
    return {f"rbac.authorization.k8s.io/aggregate-to-{n}": "true" for n in names}


def default_cluster_roles() -> list[dict[str, Any]]:
    """cluster-admin, admin/edit/view (aggregated, as upstream) and what every authenticated user may do."""
    workload_read = [{"apiGroups": [group], "resources": resources, "verbs": _READ}
                     for group, resources in _WORKLOADS.items()]
    workload_write = [{"apiGroups": [group], "resources": resources, "verbs": _WRITE}
                      for group, resources in _WORKLOADS.items()]
    objects = [
        _role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _role("admin", [], aggregate="admin"),
        _role("edit", [], labels=_agg_labels("admin"), aggregate="edit"),
        _role("view", [], labels=_agg_labels("admin", "edit"), aggregate="view"),
        _role("system:aggregate-to-view", [{"apiGroups": [""], "resources": _VIEW_CORE, "verbs": _READ},
                                           *workload_read], labels=_agg_labels("admin", "edit", "view")),
        _role("system:aggregate-to-edit", [
            {"apiGroups": [""], "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy",
                                              "services", "services/proxy", "configmaps", "endpoints",
                                              "persistentvolumeclaims", "replicationcontrollers", "secrets",
                                              "serviceaccounts"], "verbs": _WRITE},
            {"apiGroups": [""], "resources": ["secrets", "pods/attach", "pods/exec", "pods/portforward",
                                              "pods/proxy", "services/proxy"], "verbs": _READ},
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
            *workload_write], labels=_agg_labels("admin", "edit")),
        _role("system:aggregate-to-admin", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": [RBAC_GROUP], "resources": ["rolebindings", "roles"], "verbs": [*_READ, *_WRITE]}],
            labels=_agg_labels("admin")),
        _role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        _role("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                        "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                                    "verbs": ["get"]}]),
        _role("system:public-info-viewer", [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version",
                                                                 "/version/"], "verbs": ["get"]}]),
    ]
    for name in ("system:basic-user", "system:discovery", "system:public-info-viewer"):
        objects.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding",
                        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                                     "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
                        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
                        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": AUTHENTICATED}]})
    return objects
