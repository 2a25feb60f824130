"""The starter KfDef of `kfctl init`: valid as written, and still valid once parameters are uncommented."""

from __future__ import annotations

import re

import pytest

from kfctl.catalog import load_catalog
from kfctl.config import parse_kfdef, resolve
from kfctl.config.starter import render_starter, yaml_scalar
from kfctl.errors import CatalogError, InputError


@pytest.mark.parametrize("platform", ["generic", "gcp", "aws", "local"])
def test_starter_for_each_platform_validates(fake_catalog, platform):
    text = render_starter(fake_catalog, name="kf", platform=platform)
    sel = resolve(parse_kfdef(text), fake_catalog, environ={})
    assert set(sel.names) == set(fake_catalog.platforms[platform].components)
    assert sel.platform == platform


def test_starter_shows_parameters_with_effective_defaults(fake_catalog):
    text = render_starter(fake_catalog, name="kf", platform="gcp", components=["istio", "katib"])
    assert "    # - name: gatewayServiceType\n    #   value: LoadBalancer\n" in text
    assert "(platform gcp sets this)" in text
    assert "(demo default: change it for production)" in text
    assert "# requires cert-manager, kubeflow-core (added automatically when missing)" in text


def test_uncommenting_every_parameter_still_validates(fake_catalog):
    text = render_starter(fake_catalog, name="kf", platform="gcp")
    opened = re.sub(r"^(    )# (parameters:|- name: |  value: |  # )", r"\1\2", text, flags=re.M)
    assert opened.count("parameters:\n") > 3
    sel = resolve(parse_kfdef(opened), fake_catalog, environ={})
    assert sel.component("istio").parameters["gatewayServiceType"] == "LoadBalancer"


def test_starter_with_the_shipped_catalog_validates():
    catalog = load_catalog()
    text = render_starter(catalog, name="kf")
    assert resolve(parse_kfdef(text), catalog, environ={}).components


@pytest.mark.parametrize("value", ["plain", "yes", "123", "a: b", "", "accounts.google.com:", "x\ny", 1, 2.5,
                                   True, None, [], {}, {"a": [1, "b"]}, "ünï"])
def test_yaml_scalar_reads_back_as_the_same_value(value):
    import yaml

    assert yaml.safe_load(f"k: {yaml_scalar(value)}\n") == {"k": value}


def test_bad_names_and_components_are_input_errors(fake_catalog):
    with pytest.raises(InputError, match="deployment name 'My KF' is not a valid DNS-1123 label"):
        render_starter(fake_catalog, name="My KF")
    with pytest.raises(InputError, match="namespace 'Kube' is not a valid DNS-1123 label"):
        render_starter(fake_catalog, name="kf", namespace="Kube")
    with pytest.raises(CatalogError, match="unknown component 'katbi'"):
        render_starter(fake_catalog, name="kf", components=["katbi"])
    with pytest.raises(CatalogError, match="unknown platform 'gpc'"):
        render_starter(fake_catalog, name="kf", platform="gpc")
