"""Conditional dependencies: ``dependsOn[].when`` makes a required dependency depend on the parameters
of the component that declares it (kserve needs knative-serving only in Serverless mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kfctl.catalog import load_catalog
from kfctl.errors import CatalogError
from kfctl.render import RenderRequest, render

MODE = {"type": "object", "additionalProperties": False, "properties": {
    "mode": {"type": "string", "enum": ["fast", "plain"], "default": "fast", "description": "Mode."}}}


def _tree(root: Path, when) -> Path:
    for name, fields in (("engine", {}), ("app", {"parameters": MODE, "dependsOn": [
            {"name": "engine", "required": True, "when": when}]})):
        folder = root / "manifests" / name
        (folder / "templates").mkdir(parents=True)
        (folder / "component.yaml").write_text(yaml.safe_dump(
            {"name": name, "version": "v1", "description": name, **fields}))
        (folder / "templates" / "10-cm.yaml.j2").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n")
    (root / "platforms" / "generic").mkdir(parents=True)
    (root / "platforms" / "generic" / "platform.yaml").write_text("name: generic\ndescription: t\ncomponents: [app]\n")
    return root


def test_a_conditional_dependency_is_added_only_when_its_parameters_hold(tmp_path):
    root = _tree(tmp_path, {"mode": "fast"})
    catalog = load_catalog(root / "manifests", root / "platforms")
    assert catalog.resolve(["app"]).order == ("engine", "app")  # the default, fast
    assert catalog.resolve(["app"]).added == (("engine", "app"),)
    plain = catalog.resolve(["app"], parameters=lambda name: {"mode": "plain"})
    assert plain.order == ("app",) and plain.added == ()
    # selected anyway, it still orders first
    assert catalog.resolve(["app", "engine"], parameters=lambda name: {"mode": "plain"}).order == ("engine", "app")


def test_the_renderer_holds_a_conditional_dependency_to_the_same_rule(tmp_path):
    root = _tree(tmp_path, {"mode": "fast"})
    catalog = load_catalog(root / "manifests", root / "platforms")
    rendering = render(RenderRequest(platform="generic", components=("app",), parameters={"app": {"mode": "plain"}}),
                       catalog)
    assert [r.name for r in rendering.resources] == ["app"]
    with pytest.raises(CatalogError, match="'app' with mode fast requires 'engine', which is not selected"):
        render(RenderRequest(platform="generic", components=("app",)), catalog)


@pytest.mark.parametrize("when", [{"colour": "red"}, {"mode": ["fast"]}, "fast"])
def test_when_must_name_the_components_own_parameters_with_plain_values(tmp_path, when):
    root = _tree(tmp_path, when)
    with pytest.raises(CatalogError, match=r"dependsOn\[0\]\.when: expected \{parameter: value\}.*known: mode"):
        load_catalog(root / "manifests", root / "platforms")
