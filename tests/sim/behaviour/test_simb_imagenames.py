"""The sim recognises an application by repository path, whatever registry the image was mirrored to."""

from __future__ import annotations

from kfctl.sim.behaviour.certmanager import component_of
from kfctl.sim.behaviour.imagenames import image_matches, path_of, same_repository
from kfctl.sim.behaviour.profiles import REALISTIC


def _deployment(image):
    return {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_cert_manager_parts_are_recognised_when_mirrored():
    assert component_of(_deployment("quay.io/jetstack/cert-manager-webhook:v1.19.4")) == "webhook"
    assert component_of(_deployment("registry.internal/quay/jetstack/cert-manager-webhook:v1.19.4")) == "webhook"
    assert component_of(_deployment("registry.internal:5000/jetstack/cert-manager-cainjector@sha256:" + "0" * 64)) \
        == "cainjector"
    assert component_of(_deployment("registry.internal/jetstack/cert-manager-controllerx:v1")) == ""
    assert component_of(_deployment("registry.internal/other/cert-manager-controller:v1")) == ""


def test_patterns_with_a_host_match_the_path_under_any_registry():
    assert path_of("quay.io/jetstack/x") == "jetstack/x" and path_of("jetstack/x") == "jetstack/x"
    assert image_matches("mirror.example/q/jetstack/cert-manager-webhook:v1", "quay.io/jetstack/cert-manager-webhook*")
    assert not image_matches("mirror.example/q/jetstack/cert-manager-webhook:v1", "jetstack/cert-manager-webhook*")
    assert same_repository("quay.io/jetstack/a", "quay.io/jetstack/a")
    assert not same_repository("quay.io/jetstack/ab:1", "quay.io/jetstack/a")
    rule = REALISTIC.rule("registry.internal/quay/jetstack/cert-manager-webhook:v1.19.4")
    assert rule is not None and rule.start == 15.0  # the webhook's own timing, not the other parts'
