"""spec.version selects the catalog release: names, tags, kfctl 1.x-era versions, unset, unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfctl.catalog import load_catalog
from kfctl.config import parse_kfdef, resolve, validate_file
from kfctl.config.versions import choose_release
from kfctl.errors import ConfigError

RELEASES = ("1.10", "26.03")


@pytest.mark.parametrize(("version", "release"), [
    ("26.03", "26.03"), ("v26.03", "26.03"), ("26.03.0", "26.03"), ("v26.03.1", "26.03"), ("26.3", "26.03"),
    ("1.10", "1.10"), ("v1.10", "1.10"), ("v1.10.2", "1.10"), ("1.10.0", "1.10"), ("v1.10-branch", "1.10"),
])
def test_release_names_tags_and_patch_versions_select_their_release(version, release):
    choice = choose_release(version, RELEASES, "26.03")
    assert (choice.release, choice.warning, choice.error) == (release, None, None)


@pytest.mark.parametrize("version", ["v1.2-branch", "v1.2.0", "v1.0.2", "v0.5.0", "1.9.1"])
def test_kfctl_1x_era_versions_use_1_10_with_a_warning(version):
    choice = choose_release(version, RELEASES, "26.03")
    assert choice.release == "1.10" and choice.error is None
    assert f"{version!r} is a kfctl 1.x-era version" in choice.warning and 'version: "1.10"' in choice.warning


@pytest.mark.parametrize("version", ["1.11", "2.0", "27.04", "master", "latest", "", "v1"])
def test_unknown_versions_are_errors_listing_the_known_releases(version):
    choice = choose_release(version, RELEASES, "26.03")
    assert choice.release is None and choice.error == f"unknown Kubeflow release {version!r}"
    assert choice.hint.startswith("known releases: 1.10, 26.03")


def test_unset_version_is_the_default_with_a_warning_to_pin_it():
    choice = choose_release(None, RELEASES, "26.03")
    assert choice.release == "26.03" and "spec.version is not set" in choice.warning and '"26.03"' in choice.warning


def test_a_flat_catalog_takes_any_version():
    assert choose_release("anything", ("",), "") .release == ""
    assert choose_release(None, ("",), "").warning is None


def two_release_tree(root: Path) -> tuple[Path, Path]:
    """Releases 1.10 (alpha, gamma) and 26.03 (base 1.10, default, drops gamma); one platform."""
    files = {
        "manifests/1.10/release.yaml": 'name: "1.10"\n',
        "manifests/26.03/release.yaml": 'name: "26.03"\nbase: "1.10"\ndefault: true\ndrop: [gamma]\n',
        "manifests/1.10/alpha/component.yaml": "name: alpha\nversion: v1\ndescription: a\n",
        "manifests/1.10/gamma/component.yaml": "name: gamma\nversion: v1\ndescription: g\n",
        "platforms/generic/platform.yaml": 'name: generic\ndescription: g\ncomponents: {"1.10": [alpha, gamma], '
                                           '"26.03": [alpha]}\n',
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "manifests", root / "platforms"


KFDEF = """apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {{name: demo}}
spec:
{version}  applications:
  - name: katib
"""


def _resolve(version_line: str):
    kfdef = parse_kfdef(KFDEF.format(version=version_line), file="kf.yaml")
    return resolve(kfdef, load_catalog(), environ={})


@pytest.mark.parametrize(("line", "release"), [('  version: "1.10"\n', "1.10"), ("  version: v1.10.2\n", "1.10"),
                                               ('  version: "26.03"\n', "26.03"), ("  version: v26.03\n", "26.03")])
def test_the_selection_records_the_release_and_uses_its_catalog(line, release):
    selection = _resolve(line)
    assert selection.release == release and not selection.warnings
    assert "katib requires cert-manager: added" in selection.notices


def test_a_kfctl_1x_kfdef_resolves_against_1_10_with_a_warning():
    selection = _resolve("  version: v1.2-branch\n")
    assert selection.release == "1.10"
    assert any("'v1.2-branch' is a kfctl 1.x-era version" in w and "(line 5)" in w for w in selection.warnings)


def test_no_version_means_the_default_release_with_a_warning():
    selection = _resolve("")
    assert selection.release == "26.03"
    assert any(w.startswith("spec.version is not set: deploying the default release 26.03") for w in
               selection.warnings)


def test_an_unknown_version_is_a_located_config_error_listing_the_releases(tmp_path):
    path = tmp_path / "kfdef.yaml"
    path.write_text(KFDEF.format(version="  version: v1.11.0\n"))
    with pytest.raises(ConfigError) as info:
        validate_file(path, load_catalog(), display="kfdef.yaml", environ={})
    assert info.value.exit_code == 2
    text = info.value.render()
    assert "kfdef.yaml:5:12: spec.version: unknown Kubeflow release 'v1.11.0'" in text
    assert "known releases: 1.10, 26.03" in text


def test_components_are_checked_against_the_selected_release(tmp_path):
    """A component a release lacks is unknown in that release (26.03 gained nothing 1.10 lacks yet, so
    check the other way with a tmp release that drops one)."""
    manifests, platforms = two_release_tree(tmp_path)
    catalog = load_catalog(manifests, platforms)
    good = parse_kfdef(KFDEF.format(version='  version: "1.10"\n').replace("katib", "gamma"), file="kf.yaml")
    assert resolve(good, catalog, environ={}).names == ("gamma",)
    bad = parse_kfdef(KFDEF.format(version='  version: "26.03"\n').replace("katib", "gamma"), file="kf.yaml")
    with pytest.raises(ConfigError, match="unknown component 'gamma'"):
        resolve(bad, catalog, environ={})


def test_a_kfdef_of_repo_applications_only_is_not_held_to_the_catalog_releases():
    text = """apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: upstream}
spec:
  version: v1.11.0
  repos:
  - {name: manifests, uri: https://example.com/m.tar.gz}
  applications:
  - name: kubeflow
    kustomizeConfig: {repoRef: {name: manifests, path: example}}
"""
    selection = resolve(parse_kfdef(text, file="kf.yaml"), load_catalog(), environ={})
    assert selection.release == "26.03" and not selection.warnings and not selection.components
    unpinned = resolve(parse_kfdef(text.replace("  version: v1.11.0\n", ""), file="kf.yaml"), load_catalog(),
                       environ={})
    assert not unpinned.warnings
