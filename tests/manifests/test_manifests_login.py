"""The 26.03 login is wired end to end in the rendered objects (kfctl issue #13, "Done when").

The checker (``login_wiring.py``) evaluates Istio's authorization semantics
over what kfctl renders: every route through the ingress gateway is sent to
oauth2-proxy for a browser without a session and refused to a request
without a verified token, except the login's own routes (``OPEN_ROUTES``:
Dex's pages, oauth2-proxy's endpoints); the identity header the gateway
writes from the verified token is the one the dashboard reads. Routes the
controllers create at run time (a notebook's /notebook/<ns>/<name>/) bind
the same Gateway and are covered by the same policies, which select the
gateway's pods, not routes.

The checker is tested on mutated renderings: each way around the login
(a route smuggled under an open path, a new Gateway on the same pods, a
policy exception, a missing DENY, the identity header renamed, the ext-authz
provider missing, a client secret that differs) must be reported.
"""

from __future__ import annotations

import copy

import pytest

from kfctl.catalog import load_releases
from kfctl.render import RenderRequest, render

from login_wiring import OPEN_ROUTES, Wiring, plain

RELEASE = "26.03"
RELEASES = load_releases()
CATALOG = RELEASES.catalog(RELEASE)
PLATFORMS = sorted(CATALOG.platforms)


def _objects(platform="generic", components=None, parameters=None, platform_parameters=None, namespace="kubeflow"):
    components = components or CATALOG.platform(platform).components
    order = CATALOG.resolve(list(components)).order
    rendering = render(RenderRequest(platform=platform, components=order, release=RELEASE, namespace=namespace,
                                     deployment="kf", parameters=parameters or {},
                                     platform_parameters=platform_parameters or {}), CATALOG)
    return plain(r.body for r in rendering.resources)


@pytest.fixture(scope="module")
def generic():
    return _objects()


def _open_routes(wiring):
    """(prefix, host) of every gateway route some request reaches without authentication."""
    out = set()
    for _ref, uri, hosts in wiring.routes():
        if wiring.authenticated(uri.get("prefix") or uri.get("exact")):
            out |= {(uri.get("prefix") or uri.get("exact"), h) for h in hosts}
    return out


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_gateway_route_is_authenticated_on_every_platform(platform):
    wiring = Wiring(_objects(platform))
    assert wiring.problems() == []
    routed = {h for _r, _u, hosts in wiring.routes() for h in hosts}
    # the default set's web apps are all behind the gateway, so all of them were checked
    assert {"centraldashboard.kubeflow.svc.cluster.local", "ml-pipeline-ui.kubeflow.svc.cluster.local",
            "jupyter-web-app-service.kubeflow.svc.cluster.local", "katib-ui.kubeflow.svc.cluster.local",
            "volumes-web-app-service.kubeflow.svc.cluster.local"} <= routed
    # and exactly the login's own routes are open
    assert _open_routes(wiring) == set(OPEN_ROUTES)


def test_the_identity_header_reaches_the_dashboard(generic):
    wiring = Wiring(generic)
    assert wiring.identity_problems() == []
    dash = wiring.find("Deployment", "kubeflow", "centraldashboard")
    env = {e["name"]: e.get("value") for e in dash["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["USERID_HEADER"] == "kubeflow-userid"
    assert env["LOGOUT_URL"] == "/oauth2/sign_out"


def test_another_kubeflow_namespace_is_wired_too():
    wiring = Wiring(_objects(namespace="ml"), kubeflow_namespace="ml")
    assert wiring.problems() == []
    assert wiring.gateways() >= {"ml/kubeflow-gateway"}


def test_external_oidc_needs_no_dex_and_leaves_only_oauth2_proxy_open():
    components = [c for c in CATALOG.platform("generic").components if c != "dex"]
    params = {"oauth2-proxy": {"oidcIssuerUrl": "https://login.example.com", "clientId": "kubeflow",
                               "clientSecretName": "kubeflow-oidc", "redirectUrl": "https://kf.example.com/oauth2/callback"}}
    objects = _objects(components=components, parameters=params)
    wiring = Wiring(objects)
    assert wiring.problems() == []
    assert _open_routes(wiring) == {("/oauth2/", "oauth2-proxy.oauth2-proxy.svc.cluster.local")}
    assert not [o for o in objects if (o["metadata"].get("namespace") == "auth" or o["metadata"]["name"] == "auth")]
    deployment = wiring.find("Deployment", "oauth2-proxy", "oauth2-proxy")
    refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert refs["OAUTH2_PROXY_CLIENT_SECRET"] == "kubeflow-oidc"


def test_gcp_iap_and_oauth2_proxy_coexist():
    wiring = Wiring(_objects("gcp", platform_parameters={"ingress": "iap"}))
    assert wiring.problems() == []
    assert "x-goog-iap-jwt-assertion" in wiring.token_locations()


def test_gcp_iap_alone_is_a_login_too():
    components = [c for c in CATALOG.platform("gcp").components if c not in ("dex", "oauth2-proxy")]
    objects = _objects("gcp", components=components, platform_parameters={"ingress": "iap"})
    assert Wiring(objects, iap_only=True).problems() == []
    # and the same set behind a plain load balancer has no login: the checker says so
    assert Wiring(_objects("gcp", components=components), iap_only=True).problems()


def test_release_1_10_has_no_login_and_the_checker_says_so():
    catalog = RELEASES.catalog("1.10")
    order = catalog.resolve(list(catalog.platform("generic").components)).order
    rendering = render(RenderRequest(platform="generic", components=order, release="1.10"), catalog)
    problems = Wiring(plain(r.body for r in rendering.resources)).problems()
    assert any("centraldashboard" in p and "bypasses authentication" in p for p in problems)


# -- the checker catches every way around the login ------------------------------------------------

def _find(objects, kind, namespace, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
                and o["metadata"].get("namespace") == namespace)


def _route(name, namespace, gateway, prefix, host):
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"gateways": [gateway], "hosts": ["*"],
                     "http": [{"match": [{"uri": {"prefix": prefix}}],
                               "route": [{"destination": {"host": host, "port": {"number": 80}}}]}]}}


def _smuggled_route(objects):
    objects.append(_route("sneaky", "kubeflow", "kubeflow/kubeflow-gateway", "/dex/pipeline/",
                          "ml-pipeline-ui.kubeflow.svc.cluster.local"))
    return "VirtualService/kubeflow/sneaky"


def _second_gateway(objects):
    objects.append({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
                    "metadata": {"name": "side-door", "namespace": "team"},
                    "spec": {"selector": {"istio": "ingressgateway"},
                             "servers": [{"port": {"number": 8081, "name": "http", "protocol": "HTTP"},
                                          "hosts": ["*"]}]}})
    objects.append(_route("side", "team", "side-door", "/oauth2/notebooks/",
                          "jupyter-web-app-service.kubeflow.svc.cluster.local"))
    return "VirtualService/team/side"


def _policy_exception(objects):
    for name in ("istio-ingressgateway-oauth2-proxy", "istio-ingressgateway-require-jwt"):
        rule = _find(objects, "AuthorizationPolicy", "istio-system", name)["spec"]["rules"][0]
        rule["to"][0]["operation"]["notPaths"].append("/pipeline*")
    return "VirtualService/kubeflow/ml-pipeline-ui"


def _no_deny(objects):
    objects.remove(_find(objects, "AuthorizationPolicy", "istio-system", "istio-ingressgateway-require-jwt"))
    return "carries no verified token and is not denied"


def _deny_skips_a_header(objects):
    rule = _find(objects, "AuthorizationPolicy", "istio-system", "istio-ingressgateway-require-jwt")["spec"]["rules"][0]
    rule["when"] = [{"key": "request.headers[x-internal]", "notValues": ["*"]}]
    return "x-internal"


def _unknown_field(objects):
    rule = _find(objects, "AuthorizationPolicy", "istio-system", "istio-ingressgateway-require-jwt")["spec"]["rules"][0]
    rule["from"][0]["source"]["ipBlocks"] = ["10.0.0.0/8"]
    return "is not denied"


def _no_provider(objects):
    cm = _find(objects, "ConfigMap", "istio-system", "istio")
    cm["data"]["mesh"] = cm["data"]["mesh"].replace('"oauth2-proxy"', '"someone-else"')
    return "is not sent to oauth2-proxy"


def _renamed_header(objects):
    ra = _find(objects, "RequestAuthentication", "istio-system", "dex-jwt")
    ra["spec"]["jwtRules"][0]["outputClaimToHeaders"][0]["header"] = "x-user"
    return "the dashboard reads the user from 'kubeflow-userid'"


def _dashboard_header(objects):
    dash = _find(objects, "Deployment", "kubeflow", "centraldashboard")
    for env in dash["spec"]["template"]["spec"]["containers"][0]["env"]:
        if env["name"] == "USERID_HEADER":
            env["value"] = "x-goog-authenticated-user-email"
    return "x-goog-authenticated-user-email"


def _wrong_issuer(objects):
    ra = _find(objects, "RequestAuthentication", "istio-system", "dex-jwt")
    ra["spec"]["jwtRules"][0]["issuer"] = "https://elsewhere.example.com"
    return "no RequestAuthentication on the gateway turns a token"


def _client_secret(objects):
    secret = _find(objects, "Secret", "auth", "dex-oidc-client")
    secret["data"]["OIDC_CLIENT_SECRET"] = "b3RoZXI="
    return "client secrets differ"


def _regex_route(objects):
    objects.append(_route("rx", "kubeflow", "kubeflow/kubeflow-gateway", "/x/", "x.kubeflow.svc.cluster.local"))
    objects[-1]["spec"]["http"][0]["match"] = [{"uri": {"regex": "/(dex|x)/.*"}}]
    return "cannot be checked"


def _envoy_filter(objects):
    objects.append({"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
                    "metadata": {"name": "strip-authz", "namespace": "istio-system"},
                    "spec": {"workloadSelector": {"labels": {"istio": "ingressgateway"}},
                             "configPatches": [{"applyTo": "HTTP_FILTER", "patch": {"operation": "REMOVE"}}]}})
    return "EnvoyFilter/istio-system/strip-authz"


MUTATIONS = {f.__name__.lstrip("_"): f for f in (
    _smuggled_route, _second_gateway, _policy_exception, _no_deny, _deny_skips_a_header, _unknown_field,
    _no_provider, _renamed_header, _dashboard_header, _wrong_issuer, _client_secret, _regex_route,
    _envoy_filter)}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_checker_catches_a_way_around_the_login(generic, mutation):
    objects = copy.deepcopy(generic)
    expected = MUTATIONS[mutation](objects)
    problems = Wiring(objects).problems()
    assert problems, f"{mutation}: the checker found nothing"
    assert any(expected in p for p in problems), f"{mutation}: expected {expected!r} in:\n" + "\n".join(problems)


def test_an_allow_policy_cannot_open_a_route(generic):
    """Istio evaluates CUSTOM and DENY before ALLOW: an extra ALLOW rule admits nothing they refuse."""
    objects = copy.deepcopy(generic)
    objects.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                    "metadata": {"name": "allow-pipelines", "namespace": "istio-system"},
                    "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "istio-ingressgateway"}},
                             "rules": [{"to": [{"operation": {"paths": ["/pipeline*"]}}]}]}})
    assert Wiring(objects).problems() == []
