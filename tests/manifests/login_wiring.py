"""A checker of Kubeflow's login wiring, read from rendered objects (used by test_manifests_login.py).

Why a model and not a cluster: the simulated cluster runs no Envoy, so the
only way to show that "every route through the gateway is authenticated"
is to evaluate Istio's documented authorization semantics over the objects
kfctl renders. The model is small and conservative: whatever it cannot
evaluate counts as *not* protecting a request, so it can report a false
alarm but not a false all-clear.

What it models, for the ingress gateway workload (the pods behind
``istio-ingressgateway`` in istio-system):

- EnvoyFilters on the gateway are not modelled: each one is reported.
- Routes: every http route of every VirtualService bound to a Gateway that
  selects the ingress gateway's pods (``<ns>/<name>`` or a bare name in the
  VirtualService's namespace). Each ``uri`` match gives probe paths (a prefix
  itself and a path below it; an exact path); a regex cannot be probed and is
  reported.
- AuthorizationPolicies that apply to the gateway: in its namespace (the
  root namespace) with no selector, or with a selector the gateway's pod
  labels satisfy. Rules are matched with Istio's semantics for the fields
  Kubeflow uses (``to.operation`` paths/notPaths/methods/notMethods,
  ``from.source`` requestPrincipals/notRequestPrincipals,
  ``when`` on ``request.headers[...]``); any other field makes the rule
  "unknown", which never counts as protection.
- A request is *authenticated* when a CUSTOM policy sends a browser request
  (no Authorization header, no token) to the ``oauth2-proxy`` ext-authz
  provider declared in the mesh config, **and** a DENY policy refuses the
  same path to a request that carries no verified token (for example one
  with ``Authorization: Basic ...``, which no RequestAuthentication turns
  into a principal and which the CUSTOM rule skips): otherwise a client could
  send its own ``kubeflow-userid``. Both must hold for GET and POST.

The routes upstream leaves open (``OPEN_ROUTES``) are the login itself:
Dex's pages and oauth2-proxy's endpoints, each only towards its own service.

Identity: a RequestAuthentication on the gateway verifies Bearer tokens of
the issuer the login uses (Dex's configured issuer, which oauth2-proxy also
uses) and writes the email claim into a header; the central dashboard reads
that header (``USERID_HEADER``, no prefix to strip) and admits the gateway's
identity; the ext-authz provider forwards oauth2-proxy's Authorization
header upstream and sends it the Cookie, and resolves to a rendered Service
and Deployment; oauth2-proxy and Dex share one client id and secret.
"""

from __future__ import annotations

import base64
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

GATEWAY_NAMESPACE = "istio-system"
GATEWAY_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
EXT_AUTHZ_PROVIDER = "oauth2-proxy"

#: routes upstream leaves unauthenticated, with why: (path prefix, destination host) -> reason
OPEN_ROUTES = {
    ("/dex/", "dex.auth.svc.cluster.local"):
        "Dex's login pages: a user without a session must reach them to sign in",
    ("/oauth2/", "oauth2-proxy.oauth2-proxy.svc.cluster.local"):
        "oauth2-proxy's sign-in, callback (/oauth2/callback) and sign-out endpoints: the login flow itself",
}

_METHODS = ("GET", "POST")
_UNKNOWN = object()


def _labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def _pattern(pattern: str, value: str) -> bool:
    """Istio's string match: exact, ``prefix*``, ``*suffix`` or ``*``."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any(patterns: Iterable[str], value: str | None) -> bool:
    return value is not None and any(_pattern(p, value) for p in patterns)


class Request:
    """What a client sends through the gateway: a path, a method, headers, maybe a verified token."""

    def __init__(self, path: str, method: str = "GET", headers: Mapping[str, str] | None = None,
                 principal: str | None = None) -> None:
        self.path, self.method, self.principal = path, method, principal
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}

    def __repr__(self) -> str:
        return f"{self.method} {self.path} headers={sorted(self.headers)} principal={self.principal}"


def _operation(op: Mapping[str, Any], req: Request) -> Any:
    known = {"paths", "notPaths", "methods", "notMethods"}
    if set(op) - known:
        return _UNKNOWN
    if "paths" in op and not _any(op["paths"], req.path):
        return False
    if "notPaths" in op and _any(op["notPaths"], req.path):
        return False
    if "methods" in op and not _any(op["methods"], req.method):
        return False
    if "notMethods" in op and _any(op["notMethods"], req.method):
        return False
    return True


def _source(src: Mapping[str, Any], req: Request) -> Any:
    known = {"requestPrincipals", "notRequestPrincipals", "principals", "notPrincipals"}
    if set(src) - known:
        return _UNKNOWN
    if "requestPrincipals" in src and not _any(src["requestPrincipals"], req.principal):
        return False
    if "notRequestPrincipals" in src and _any(src["notRequestPrincipals"], req.principal):
        return False
    # A client outside the mesh has no peer (mTLS) identity at the gateway.
    if "principals" in src:
        return False
    return True


_HEADER_KEY = re.compile(r"^request\.headers\[([^\]]+)\]$")


def _condition(cond: Mapping[str, Any], req: Request) -> Any:
    m = _HEADER_KEY.match(str(cond.get("key", "")))
    if not m:
        return _UNKNOWN
    value = req.headers.get(m.group(1).lower())
    if "values" in cond and not _any(cond["values"], value):
        return False
    if "notValues" in cond and _any(cond["notValues"], value):
        return False
    return True


def _all(results: Iterable[Any]) -> Any:
    """AND of three-valued results (False wins, then unknown)."""
    out: Any = True
    for r in results:
        if r is False:
            return False
        if r is _UNKNOWN:
            out = _UNKNOWN
    return out


def _or(results: Iterable[Any]) -> Any:
    out: Any = False
    for r in results:
        if r is True:
            return True
        if r is _UNKNOWN:
            out = _UNKNOWN
    return out


def rule_matches(rule: Mapping[str, Any], req: Request) -> Any:
    """True, False or unknown, for one AuthorizationPolicy rule (Istio: from/to ORed within, ANDed across)."""
    parts = []
    if "from" in rule:
        parts.append(_or(_source(f.get("source") or {}, req) if set(f) <= {"source"} else _UNKNOWN
                         for f in rule["from"]))
    if "to" in rule:
        parts.append(_or(_operation(t.get("operation") or {}, req) if set(t) <= {"operation"} else _UNKNOWN
                         for t in rule["to"]))
    if "when" in rule:
        parts.append(_all(_condition(c, req) for c in rule["when"]))
    if set(rule) - {"from", "to", "when"}:
        parts.append(_UNKNOWN)
    return _all(parts)


class Wiring:
    """The login-relevant objects of one rendering, as plain dicts."""

    def __init__(self, objects: Iterable[Mapping[str, Any]], kubeflow_namespace: str = "kubeflow", *,
                 iap_only: bool = False) -> None:
        """``iap_only``: GCP's IAP is the only login (no oauth2-proxy): browsers are authenticated before
        the gateway, so instead of the ext-authz check the gateway must be reachable only through IAP
        (a ClusterIP Service) and verify IAP's token."""
        self.objects = [o for o in objects]
        self.kubeflow_namespace = kubeflow_namespace
        self.iap_only = iap_only

    def of_kind(self, kind: str) -> list[Mapping[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def find(self, kind: str, namespace: str | None, name: str) -> Mapping[str, Any] | None:
        for o in self.of_kind(kind):
            meta = o.get("metadata") or {}
            if meta.get("name") == name and (namespace is None or meta.get("namespace") == namespace):
                return o
        return None

    # -- the gateway ---------------------------------------------------------------------------

    def gateways(self) -> set[str]:
        """``namespace/name`` of every Gateway that selects the ingress gateway's pods."""
        out = set()
        for gw in self.of_kind("Gateway"):
            if _labels_match((gw.get("spec") or {}).get("selector"), GATEWAY_LABELS):
                out.add(f"{gw['metadata'].get('namespace')}/{gw['metadata']['name']}")
        return out

    def routes(self) -> list[tuple[str, Mapping[str, Any], list[str]]]:
        """(VirtualService ref, uri match, destination hosts) of every route through the gateway."""
        gateways = self.gateways()
        out = []
        for vs in self.of_kind("VirtualService"):
            ns = vs["metadata"].get("namespace")
            bound = {g if "/" in g else f"{ns}/{g}" for g in (vs.get("spec") or {}).get("gateways") or ()}
            if not bound & gateways:
                continue
            ref = f"VirtualService/{ns}/{vs['metadata']['name']}"
            for http in (vs.get("spec") or {}).get("http") or ():
                hosts = [d["destination"]["host"] for d in http.get("route") or () if "destination" in d]
                for match in http.get("match") or [{"uri": {"prefix": "/"}}]:
                    out.append((ref, match.get("uri") or {"prefix": "/"}, hosts))
        return out

    def gateway_policies(self) -> list[Mapping[str, Any]]:
        out = []
        for pol in self.of_kind("AuthorizationPolicy"):
            if pol["metadata"].get("namespace") != GATEWAY_NAMESPACE:
                continue
            spec = pol.get("spec") or {}
            if "targetRef" in spec or "targetRefs" in spec:
                continue  # not evaluated: never counted as protection
            selector = (spec.get("selector") or {}).get("matchLabels")
            if _labels_match(selector, GATEWAY_LABELS):
                out.append(pol)
        return out

    def mesh(self) -> Mapping[str, Any]:
        cm = self.find("ConfigMap", GATEWAY_NAMESPACE, "istio")
        return yaml.safe_load(((cm or {}).get("data") or {}).get("mesh") or "{}") or {}

    def ext_authz_provider(self) -> Mapping[str, Any] | None:
        for provider in self.mesh().get("extensionProviders") or ():
            if provider.get("name") == EXT_AUTHZ_PROVIDER and "envoyExtAuthzHttp" in provider:
                return provider["envoyExtAuthzHttp"]
        return None

    # -- authorization -------------------------------------------------------------------------

    def _matching(self, action: str, req: Request) -> Any:
        results = []
        for pol in self.gateway_policies():
            spec = pol.get("spec") or {}
            if spec.get("action", "ALLOW") != action:
                continue
            if action == "CUSTOM" and (spec.get("provider") or {}).get("name") != EXT_AUTHZ_PROVIDER:
                continue
            results.append(_or(rule_matches(r, req) for r in spec.get("rules") or ()))
        return _or(results)

    def token_locations(self) -> dict[str, str]:
        """Header -> prefix of every place a RequestAuthentication on the gateway reads a token from."""
        out = {}
        for ra in self.of_kind("RequestAuthentication"):
            spec = ra.get("spec") or {}
            if ra["metadata"].get("namespace") != GATEWAY_NAMESPACE or \
                    not _labels_match((spec.get("selector") or {}).get("matchLabels"), GATEWAY_LABELS):
                continue
            for rule in spec.get("jwtRules") or ():
                for h in rule.get("fromHeaders") or [{"name": "Authorization", "prefix": "Bearer "}]:
                    out[h["name"].lower()] = h.get("prefix", "")
        return out

    def _forged(self, path: str, method: str) -> list[Request]:
        """Requests without a verified token: no headers, each header a policy condition names, all of them."""
        universe = {"authorization"}
        for pol in self.gateway_policies():
            for rule in (pol.get("spec") or {}).get("rules") or ():
                for cond in rule.get("when") or ():
                    m = _HEADER_KEY.match(str(cond.get("key", "")))
                    if m:
                        universe.add(m.group(1).lower())
        value = {h: ("Basic eDp5" if h == "authorization" else "forged") for h in universe}
        base = {"kubeflow-userid": "admin@example.com"}
        subsets = [frozenset()] + [frozenset({h}) for h in sorted(universe)] + [frozenset(universe)]
        return [Request(path, method, {**base, **{h: value[h] for h in sub}}) for sub in dict.fromkeys(subsets)]

    def _rejected_by_jwt(self, req: Request) -> bool:
        """A token the gateway extracts but cannot verify (a forged one) is refused with 401."""
        return any(h in req.headers and req.headers[h].startswith(prefix)
                   for h, prefix in self.token_locations().items())

    def authenticated(self, path: str) -> list[str]:
        """Why ``path`` is not authenticated at the gateway (empty: it is)."""
        why = []
        has_provider = self.ext_authz_provider() is not None
        if self.iap_only:
            why += self._iap_problems()
        for method in _METHODS:
            if self.iap_only:
                pass
            elif not has_provider or self._matching("CUSTOM", Request(path, method)) is not True:
                why.append(f"{method} without a session is not sent to {EXT_AUTHZ_PROVIDER}")
            for forged in self._forged(path, method):
                if not self._rejected_by_jwt(forged) and self._matching("DENY", forged) is not True:
                    why.append(f"{forged!r} carries no verified token and is not denied")
        return why

    def _iap_problems(self) -> list[str]:
        why = []
        svc = self.find("Service", GATEWAY_NAMESPACE, "istio-ingressgateway")
        if svc is None or svc["spec"].get("type", "ClusterIP") != "ClusterIP":
            why.append("the gateway Service is reachable around IAP (not ClusterIP)")
        if "x-goog-iap-jwt-assertion" not in self.token_locations():
            why.append("the gateway does not verify IAP's x-goog-iap-jwt-assertion")
        return why

    # -- the checks ----------------------------------------------------------------------------

    def route_problems(self) -> list[str]:
        problems = []
        routes = self.routes()
        if not routes:
            return ["no VirtualService routes through the ingress gateway"]
        for ref, uri, hosts in routes:
            if "regex" in uri:
                problems.append(f"{ref}: uri regex {uri['regex']!r} cannot be checked; use prefix or exact")
                continue
            if "prefix" in uri:
                p = uri["prefix"]
                probes = [p, p + ("kfctl-probe" if p.endswith("/") else "/kfctl-probe")]
                key = p
            else:
                probes = [uri.get("exact", "/")]
                key = probes[0]
            for path in probes:
                why = self.authenticated(path)
                if not why:
                    continue
                if all((key, h) in OPEN_ROUTES for h in hosts) and hosts:
                    continue  # upstream leaves the login's own routes open
                problems.append(f"{ref}: {path} -> {', '.join(hosts) or '?'} bypasses authentication: "
                                + "; ".join(why))
        return problems

    def identity_problems(self) -> list[str]:
        problems = []
        provider = self.ext_authz_provider()
        if self.iap_only:
            pass
        elif provider is None:
            problems.append(f"mesh config declares no envoyExtAuthzHttp provider {EXT_AUTHZ_PROVIDER!r}")
        else:
            if "authorization" not in [h.lower() for h in provider.get("headersToUpstreamOnAllow") or ()]:
                problems.append("the ext-authz provider does not pass oauth2-proxy's Authorization header upstream")
            if "cookie" not in [h.lower() for h in provider.get("includeRequestHeadersInCheck") or ()]:
                problems.append("the ext-authz provider does not send the session cookie to oauth2-proxy")
            problems += self._service_problems(provider.get("service", ""), provider.get("port"))

        cfg = self._oauth2_proxy_cfg()
        if self.iap_only:
            cfg = {"oidc_issuer_url": "https://cloud.google.com/iap"}
        elif cfg is None:
            problems.append("ConfigMap oauth2-proxy/oauth2-proxy (oauth2_proxy.cfg) is not rendered")
            cfg = {}
        elif cfg.get("set_authorization_header") is not True:
            problems.append("oauth2-proxy does not set the Authorization header (set_authorization_header)")
        issuer = cfg.get("oidc_issuer_url")
        dex = self._dex_issuer()
        if dex is not None and dex != issuer:
            problems.append(f"Dex's issuer {dex!r} differs from oauth2-proxy's oidc_issuer_url {issuer!r}")

        headers = set()
        for ra in self.of_kind("RequestAuthentication"):
            spec = ra.get("spec") or {}
            if ra["metadata"].get("namespace") != GATEWAY_NAMESPACE:
                continue
            if not _labels_match((spec.get("selector") or {}).get("matchLabels"), GATEWAY_LABELS):
                continue
            for rule in spec.get("jwtRules") or ():
                if rule.get("issuer") != issuer:
                    continue
                where = ("x-goog-iap-jwt-assertion", "") if self.iap_only else ("authorization", "Bearer ")
                located = any((h.get("name", "").lower(), h.get("prefix", "")) == where
                              for h in rule.get("fromHeaders") or ())
                if not located:
                    continue
                headers |= {o["header"].lower() for o in rule.get("outputClaimToHeaders") or ()
                            if o.get("claim") == "email"}
        if not headers:
            problems.append(f"no RequestAuthentication on the gateway turns a token of {issuer!r} "
                            "into a user header (outputClaimToHeaders from the email claim)")

        dash = self.find("Deployment", self.kubeflow_namespace, "centraldashboard")
        if dash is None:
            problems.append("Deployment centraldashboard is not rendered")
        else:
            env = {e["name"]: e.get("value") for c in dash["spec"]["template"]["spec"]["containers"]
                   for e in c.get("env") or ()}
            header = (env.get("USERID_HEADER") or "").lower()
            if header not in headers:
                problems.append(f"the dashboard reads the user from {header!r}, which the gateway does not set "
                                f"(it sets {sorted(headers)})")
            if env.get("USERID_PREFIX"):
                problems.append(f"the dashboard strips prefix {env['USERID_PREFIX']!r}, which the email claim lacks")
            dash_routes = [r for r in self.routes() if any(h.startswith(f"centraldashboard.{self.kubeflow_namespace}.")
                                                          for h in r[2])]
            if not dash_routes:
                problems.append("no gateway route leads to the dashboard")
            allowed = any(
                pol["metadata"].get("namespace") == self.kubeflow_namespace
                and (pol.get("spec") or {}).get("action", "ALLOW") == "ALLOW"
                and _labels_match(((pol.get("spec") or {}).get("selector") or {}).get("matchLabels"),
                                  dash["spec"]["template"]["metadata"]["labels"])
                and any(GATEWAY_PRINCIPAL in (f.get("source") or {}).get("principals", ())
                        for r in (pol.get("spec") or {}).get("rules") or () for f in r.get("from") or ())
                for pol in self.of_kind("AuthorizationPolicy"))
            if not allowed:
                problems.append("no AuthorizationPolicy lets the ingress gateway reach the dashboard")
        problems += self._client_problems()
        return problems

    def filter_problems(self) -> list[str]:
        """EnvoyFilters on the gateway can rewrite or drop any filter, ext-authz and JWT included: not modelled."""
        out = []
        for ef in self.of_kind("EnvoyFilter"):
            ns = ef["metadata"].get("namespace")
            labels = ((ef.get("spec") or {}).get("workloadSelector") or {}).get("labels")
            if ns == GATEWAY_NAMESPACE and _labels_match(labels, GATEWAY_LABELS):
                out.append(f"EnvoyFilter/{ns}/{ef['metadata']['name']} patches the gateway's proxy; "
                           "the login cannot be checked past it")
        return out

    def problems(self) -> list[str]:
        return self.route_problems() + self.identity_problems() + self.filter_problems()

    # -- helpers -------------------------------------------------------------------------------

    def _oauth2_proxy_cfg(self) -> dict[str, Any] | None:
        cm = self.find("ConfigMap", "oauth2-proxy", "oauth2-proxy")
        if cm is None:
            return None
        return tomllib.loads((cm.get("data") or {}).get("oauth2_proxy.cfg", ""))

    def _dex_issuer(self) -> str | None:
        cm = self.find("ConfigMap", "auth", "dex")
        if cm is None:
            return None
        return (yaml.safe_load((cm.get("data") or {}).get("config.yaml", "")) or {}).get("issuer")

    def _service_problems(self, host: str, port: Any) -> list[str]:
        parts = host.split(".")
        if len(parts) < 2:
            return [f"ext-authz service {host!r} is not <name>.<namespace>..."]
        svc = self.find("Service", parts[1], parts[0])
        if svc is None:
            return [f"ext-authz service {host!r} is not rendered"]
        ports = [p for p in svc["spec"].get("ports") or () if p.get("port") == port]
        if not ports:
            return [f"Service {parts[1]}/{parts[0]} has no port {port}"]
        selector = svc["spec"].get("selector") or {}
        for dep in self.of_kind("Deployment"):
            if dep["metadata"].get("namespace") != parts[1]:
                continue
            pod = dep["spec"]["template"]
            if selector and _labels_match(selector, pod["metadata"].get("labels") or {}):
                target = ports[0].get("targetPort", port)
                names = {(p.get("name"), p.get("containerPort")) for c in pod["spec"]["containers"]
                         for p in c.get("ports") or ()}
                if any(target in pair for pair in names):
                    return []
                return [f"Service {parts[1]}/{parts[0]} port {port} targets {target!r}, which no container exposes"]
        return [f"Service {parts[1]}/{parts[0]} selects no rendered Deployment"]

    def _client_problems(self) -> list[str]:
        def data(secret: Mapping[str, Any] | None) -> dict[str, str]:
            return {k: base64.b64decode(v).decode() for k, v in ((secret or {}).get("data") or {}).items()}
        dex = self.find("Secret", "auth", "dex-oidc-client")
        proxy = self.find("Secret", "oauth2-proxy", "oauth2-proxy")
        if self._dex_issuer() is None:
            return []
        if dex is None:
            return ["Dex is deployed but Secret auth/dex-oidc-client (its OIDC client) is not rendered"]
        d, p = data(dex), data(proxy)
        problems = []
        if d.get("OIDC_CLIENT_ID") != p.get("client-id"):
            problems.append("Dex's and oauth2-proxy's client ids differ")
        if d.get("OIDC_CLIENT_SECRET") != p.get("client-secret"):
            problems.append("Dex's and oauth2-proxy's client secrets differ")
        return problems


def plain(objects: Iterable[Any]) -> list[dict[str, Any]]:
    """Rendered (frozen) bodies as plain, mutable dicts."""
    return [json.loads(json.dumps(o, default=dict)) for o in objects]


__all__ = ["OPEN_ROUTES", "Request", "Wiring", "plain", "rule_matches"]
