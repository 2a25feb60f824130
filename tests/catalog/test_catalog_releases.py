"""Releases in the catalog: inheritance from a base release, extends (merge, template override,
dropTemplates), drop, Kubernetes ranges, per-release platform lists, and the shipped layout."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from kfctl.catalog import deep_merge, load_catalog, load_releases, loader
from kfctl.errors import CatalogError
from kfctl.render import RenderRequest, render

REPO = Path(__file__).resolve().parents[2]

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data: {{from: {where}, release: {{{{ release | tojson }}}}}}
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def component(root: Path, release: str, name: str, **fields) -> None:
    data = {"name": name, "version": "v1", "description": f"{name} test bundle", **fields}
    write(root, f"manifests/{release}/{name}/component.yaml", yaml.safe_dump(data))


@pytest.fixture
def tree(tmp_path):
    """Two releases: 1.10 (alpha, beta, gamma) and 26.03 on base 1.10, plus a platform listing both."""
    root = tmp_path
    write(root, "manifests/1.10/release.yaml", 'name: "1.10"\nkubernetes: {min: "1.29", max: "1.33"}\n')
    write(root, "manifests/26.03/release.yaml",
          'name: "26.03"\nbase: "1.10"\ndefault: true\nkubernetes: {min: "1.31", max: "1.35"}\ndrop: [gamma]\n')
    component(root, "1.10", "alpha", images=["a:1", "a-side:1"], namespace="kubeflow",
              parameters={"type": "object", "additionalProperties": False, "properties": {
                  "replicas": {"type": "integer", "default": 1, "description": "Replicas."},
                  "color": {"type": "string", "default": "red", "description": "Color."}}})
    write(root, "manifests/1.10/alpha/templates/10-main.yaml.j2",
          '{% import "_names.j2" as n %}' + CONFIGMAP.format(name="{{ n.main() }}", where="base-main"))
    write(root, "manifests/1.10/alpha/templates/20-extra.yaml.j2", CONFIGMAP.format(name="alpha-extra",
                                                                                   where="base-extra"))
    write(root, "manifests/1.10/alpha/templates/30-old.yaml.j2", CONFIGMAP.format(name="alpha-old", where="base"))
    write(root, "manifests/1.10/alpha/templates/_names.j2", '{% macro main() %}alpha-main{% endmacro %}')
    component(root, "1.10", "beta", dependsOn=[{"name": "alpha", "required": True}])
    write(root, "manifests/1.10/beta/templates/10-beta.yaml.j2", CONFIGMAP.format(name="beta", where="base"))
    component(root, "1.10", "gamma")
    write(root, "manifests/1.10/gamma/templates/10-gamma.yaml.j2", CONFIGMAP.format(name="gamma", where="base"))
    write(root, "platforms/generic/platform.yaml", """\
        name: generic
        description: test
        components:
          "1.10": [alpha, beta, gamma]
          "26.03": [alpha, beta]
        componentParameters:
          gamma: {anything: 1}
          alpha: {color: blue}
        """)
    return root


def releases(root: Path):
    """The tree's releases, read afresh (loading is cached per folder, and tests edit the tree)."""
    loader._load.cache_clear()
    return load_releases(root / "manifests", root / "platforms")


def rendered(catalog, *components, platform="generic"):
    rendering = render(RenderRequest(platform=platform, components=components), catalog)
    return {r.name: r.body["data"] for r in rendering.resources if r.kind == "ConfigMap"}


def extend_alpha(root: Path, **fields) -> None:
    data = {"extends": True, **fields}
    write(root, "manifests/26.03/alpha/component.yaml", yaml.safe_dump(data))


def test_a_release_inherits_its_base_components_except_dropped_ones(tree):
    family = releases(tree)
    assert family.names == ("1.10", "26.03") and family.default == "26.03"
    old, new = family.catalog("1.10"), family.catalog("26.03")
    assert sorted(old.components) == ["alpha", "beta", "gamma"]
    assert sorted(new.components) == ["alpha", "beta"]
    assert new.component("beta").path == tree / "manifests/1.10/beta"
    assert load_catalog(tree / "manifests", tree / "platforms").release == "26.03"
    assert new.for_release("1.10") is old and old.for_release(None) is old
    with pytest.raises(CatalogError, match="unknown release '9.9'") as info:
        new.for_release("9.9")
    assert info.value.hint == "known releases: 1.10, 26.03"
    with pytest.raises(CatalogError, match="unknown component 'gamma' in release 26.03"):
        new.component("gamma")


def test_templates_see_their_release(tree):
    family = releases(tree)
    assert rendered(family.catalog("1.10"), "alpha")["alpha-extra"]["release"] == "1.10"
    assert rendered(family.catalog("26.03"), "alpha")["alpha-extra"]["release"] == "26.03"
    # a request may name the release; the catalog given is then only the way in
    request = RenderRequest(platform="generic", components=("gamma",), release="1.10")
    assert [r.name for r in render(request, family.catalog("26.03")).resources] == ["gamma"]


def test_extends_deep_merges_component_yaml(tree):
    extend_alpha(tree, version="v2", images=["a:2"], parameters={"properties": {
        "replicas": {"default": 3}, "size": {"type": "string", "default": "m", "description": "Size."},
        "color": None}})
    old, new = releases(tree).catalog("1.10").component("alpha"), releases(tree).catalog("26.03").component("alpha")
    assert new.version == "v2" and old.version == "v1"
    assert new.images == ("a:2",)  # lists are replaced, not appended
    props = new.parameters["properties"]
    assert list(props) == ["replicas", "size"]  # null removes a key
    assert dict(props["replicas"]) == {"type": "integer", "default": 3, "description": "Replicas."}
    assert new.parameters["additionalProperties"] is False  # untouched keys stay
    assert new.description == old.description and new.namespace == "kubeflow"
    assert new.path == tree / "manifests/26.03/alpha" and new.extends == tree / "manifests/1.10/alpha"
    # the platform's componentParameters for a parameter 26.03 removed would now fail: none set here
    assert dict(releases(tree).catalog("26.03").platform("generic").component_parameters) == {
        "alpha": {"color": "blue"}}


def test_deep_merge_rules():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": 3}
    assert deep_merge(base, {"a": {"y": [3], "z": 0}, "c": None}) == {"a": {"x": 1, "y": [3], "z": 0}, "b": "keep"}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": 3}  # not modified


def test_extends_overrides_templates_file_by_file_and_drops_some(tree):
    extend_alpha(tree, dropTemplates=["30-old.yaml.j2"])
    write(tree, "manifests/26.03/alpha/templates/20-extra.yaml.j2", CONFIGMAP.format(name="alpha-extra",
                                                                                    where="new-extra"))
    write(tree, "manifests/26.03/alpha/templates/40-new.yaml.j2",
          '{% import "_names.j2" as n %}' + CONFIGMAP.format(name="{{ n.main() }}-new", where="new"))
    old = rendered(releases(tree).catalog("1.10"), "alpha")
    new = rendered(releases(tree).catalog("26.03"), "alpha")
    assert {k: v["from"] for k, v in old.items()} == {"alpha-main": "base-main", "alpha-extra": "base-extra",
                                                      "alpha-old": "base"}
    # a new file includes a base partial; the base's own file still renders from the base folder
    assert {k: v["from"] for k, v in new.items()} == {"alpha-main": "base-main", "alpha-extra": "new-extra",
                                                      "alpha-main-new": "new"}
    comp = releases(tree).catalog("26.03").component("alpha")
    assert list(comp.templates) == ["10-main.yaml.j2", "20-extra.yaml.j2", "40-new.yaml.j2", "_names.j2"]
    assert comp.templates["10-main.yaml.j2"] == tree / "manifests/1.10/alpha/templates/10-main.yaml.j2"


def test_an_overridden_partial_reaches_the_base_templates_that_include_it(tree):
    extend_alpha(tree)
    write(tree, "manifests/26.03/alpha/templates/_names.j2", '{% macro main() %}alpha-renamed{% endmacro %}')
    new = rendered(releases(tree).catalog("26.03"), "alpha")
    assert "alpha-renamed" in new and "alpha-main" not in new
    assert "alpha-main" in rendered(releases(tree).catalog("1.10"), "alpha")


def test_a_folder_without_extends_replaces_the_base_component(tree):
    component(tree, "26.03", "alpha")
    write(tree, "manifests/26.03/alpha/templates/10-only.yaml.j2", CONFIGMAP.format(name="alpha-only", where="new"))
    comp = releases(tree).catalog("26.03").component("alpha")
    assert comp.parameter_names == () and comp.images == () and comp.extends is None
    assert set(rendered(releases(tree).catalog("26.03"), "alpha")) == {"alpha-only"}


def test_kubernetes_ranges_fall_back_to_the_release(tree):
    extend_alpha(tree, kubernetes={"max": "1.36"})
    new = releases(tree).catalog("26.03")
    assert dict(new.kubernetes) == {"min": "1.31", "max": "1.35"}
    assert dict(new.component("beta").kubernetes) == {"min": "1.31", "max": "1.35"}
    assert dict(new.component("alpha").kubernetes) == {"min": "1.31", "max": "1.36"}
    assert dict(releases(tree).catalog("1.10").component("beta").kubernetes) == {"min": "1.29", "max": "1.33"}


def test_platform_components_per_release_and_parameters_of_absent_components_ignored(tree):
    family = releases(tree)
    assert family.catalog("1.10").platform("generic").components == ("alpha", "beta", "gamma")
    assert family.catalog("26.03").platform("generic").components == ("alpha", "beta")
    assert "gamma" in family.catalog("1.10").platform("generic").component_parameters
    assert "gamma" not in family.catalog("26.03").platform("generic").component_parameters
    # a plain list means every release
    write(tree, "platforms/generic/platform.yaml", "name: generic\ndescription: t\ncomponents: [alpha]\n")
    family = releases(tree)
    assert family.catalog("1.10").platform("generic").components == ("alpha",)
    assert family.catalog("26.03").platform("generic").components == ("alpha",)


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: extend_alpha(r, dropTemplates=["99-none.yaml.j2"]),
     "dropTemplates names '99-none.yaml.j2', which the base component does not have"),
    (lambda r: component(r, "26.03", "alpha", dropTemplates=["20-extra.yaml.j2"]),
     "dropTemplates needs extends: true"),
    (lambda r: write(r, "manifests/26.03/delta/component.yaml", "extends: true\n"),
     "extends: true, but the base release has no component 'delta'"),
    (lambda r: write(r, "manifests/1.10/alpha/component.yaml", "extends: true\n"),
     "extends: true, but this release has no base"),
    (lambda r: extend_alpha(r, extends="yes"), "extends: expected true or false"),
    (lambda r: component(r, "26.03", "gamma"), "drop names 'gamma', which this release also has a folder for"),
    (lambda r: write(r, "manifests/26.03/release.yaml", 'name: "26.03"\nbase: "1.10"\ndefault: true\n'
                                                           "drop: [omega]\n"),
     "drop names 'omega', which base 1.10 does not have"),
    (lambda r: write(r, "manifests/26.03/release.yaml", 'name: "26.03"\nbase: "1.9"\ndefault: true\n'),
     "base '1.9' is not a release here"),
    (lambda r: write(r, "manifests/1.10/release.yaml", 'name: "1.10"\nbase: "26.03"\n'),
     "release base cycle"),
    (lambda r: write(r, "manifests/1.10/release.yaml", 'name: "1.10"\ndefault: true\n'),
     "exactly one release must say default: true (these do: 1.10, 26.03)"),
    (lambda r: write(r, "manifests/26.03/release.yaml", 'name: "26.03"\nbase: "1.10"\n'),
     "exactly one release must say default: true (none does)"),
    (lambda r: write(r, "manifests/26.03/release.yaml", "name: 26.03\nbase: \"1.10\"\ndefault: true\n"),
     "does not match its folder '26.03'"),
    (lambda r: write(r, "manifests/26.03/release.yaml", 'name: "26.03"\nbase: "1.10"\ndefault: true\n'
                                                           'kubernetes: {min: "1.35", max: "1.31"}\n'),
     "kubernetes: min 1.35 is above max 1.31"),
    (lambda r: extend_alpha(r, kubernetes={"min": 1.31}), "kubernetes.min: expected a quoted Kubernetes minor"),
    (lambda r: write(r, "manifests/26.03/release.yaml", 'name: "26.03"\nbase: "1.10"\ndefault: true\nbsae: x\n'),
     "unknown field(s) bsae"),
    (lambda r: write(r, "manifests/stray/component.yaml", "name: stray\n"), "component folder(s) stray outside a release folder"),
    (lambda r: (r / "manifests/26.03/notes").mkdir(), "a folder in a release must be a component"),
    (lambda r: component(r, "26.03", "delta", dependsOn=[{"name": "gamma"}]),
     "dependsOn names unknown component 'gamma' in release 26.03"),
    (lambda r: write(r, "platforms/generic/platform.yaml", 'name: generic\ndescription: t\n'
                                                           'components: {"1.11": [alpha]}\n'),
     "components names unknown release(s) 1.11"),
])
def test_broken_releases_are_refused_naming_the_file(tree, change, message):
    change(tree)
    with pytest.raises(CatalogError) as info:
        releases(tree)
    assert message in info.value.render()


def test_a_flat_folder_is_one_anonymous_release(tmp_path):
    component(tmp_path, "", "solo")
    catalog = load_catalog(tmp_path / "manifests", tmp_path / "platforms")
    assert catalog.release == "" and catalog.releases == ("",) and list(catalog.components) == ["solo"]


# --- the shipped catalog ---------------------------------------------------------------------------------

SHIPPED = load_releases()


def test_shipped_releases_follow_the_contract():
    assert SHIPPED.names[:2] == ("1.10", "26.03") and SHIPPED.default == "26.03"
    old, new = SHIPPED.catalog("1.10"), SHIPPED.catalog("26.03")
    assert new.info.base == "1.10" and old.info.base is None
    assert dict(old.kubernetes) == {"min": "1.29", "max": "1.33"}
    assert {"kubeflow-core", "cert-manager", "istio", "training-operator", "notebooks", "profiles", "katib",
            "pipelines", "central-dashboard", "tensorboard", "volumes-web-app"} == set(old.components)
    # every 1.10 bundle lives in manifests/1.10; 26.03 has each of them unless it drops it
    for name, comp in old.components.items():
        assert comp.path == REPO / "manifests" / "1.10" / name
        assert name in new.components or name in new.info.drop
    for comp in new.components.values():
        assert comp.path.parent.name in ("1.10", "26.03")
        if comp.extends is not None:
            assert comp.path.parent.name == "26.03" and comp.extends.parent.name == "1.10"


@pytest.mark.parametrize("release", SHIPPED.names)
def test_shipped_platform_lists_name_components_of_their_release(release):
    catalog = SHIPPED.catalog(release)
    for platform in catalog.platforms.values():
        assert platform.components, f"{platform.name} has no default set for {release}"
        missing = [c for c in platform.components if c not in catalog.components]
        assert not missing, f"{platform.name} lists {missing} for {release}"


def test_shipped_26_03_default_set_follows_upstream_example():
    default = SHIPPED.catalog("26.03").platform("generic").components
    assert "training-operator" not in default  # optional in 26.03: upstream's example no longer installs it
    assert "training-operator" in SHIPPED.catalog("1.10").platform("generic").components
    assert "training-operator" in SHIPPED.catalog("26.03").components  # still available
