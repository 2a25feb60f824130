"""build_application: upstream's example and its parts, overlays, parameters, and every build error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from repos_support import SHA, make_app, make_repo, tarball

from kfctl.errors import EXIT_INPUT
from kfctl.repos import KustomizeError, RepoPathError, build_application, fetch_repo
from kfctl.repos.remotes import NotCached

MINI = Path(__file__).resolve().parents[1] / "data" / "repos" / "mini"
COUNTS = {"v1.10.2": 611, "v1.9.1": 569}


def ids(objects: list[dict]) -> set[tuple[str, str, str | None, str]]:
    return {(o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}


def example_parts(tree: Path) -> list[str]:
    data = yaml.safe_load((tree / "example" / "kustomization.yaml").read_text())
    return [os.path.normpath(os.path.join("example", r)) for r in data["resources"]]


@pytest.fixture
def mini():
    return make_repo(str(MINI), name="mini")


def build(repo, path, kustomize, **kw):
    return build_application(make_app(repo, path, **kw), fetch_repo(repo), kustomize=kustomize)


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


# -- upstream ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(COUNTS))
def test_upstream_example_builds_over_http(example_builds, version):
    objects = example_builds[version]
    assert len(objects) == COUNTS[version]
    assert len(ids(objects)) == COUNTS[version]
    assert objects[0]["kind"] == "Namespace"  # the example's own sortOptions order is kept
    assert objects[-1]["kind"] == "ValidatingWebhookConfiguration"


@pytest.mark.parametrize("version, as_url", [("v1.9.1", False), ("v1.10.2", True)])
def test_upstream_example_builds_from_disk(example_builds, kustomize, tmp_path, version, as_url):
    archive = tarball(version)
    repo = make_repo(archive.as_uri() if as_url else str(archive), SHA[version])
    tree = fetch_repo(repo, cache_dir=tmp_path / "disk-cache")
    assert tree.is_relative_to(tmp_path)
    objects = build_application(make_app(repo, "example"), tree, kustomize=kustomize)
    assert objects == example_builds[version]


def test_example_parts_build_individually_and_add_up_to_the_example(fetched, example_builds, kustomize):
    version = "v1.10.2"
    repo = make_repo(fetched.urls[version], SHA[version])
    parts = example_parts(fetched.trees[version])
    assert "common/cert-manager/base" in parts
    assert "applications/katib/upstream/installs/katib-with-kubeflow" in parts
    assert "common/istio/istio-install/overlays/oauth2-proxy" in parts
    union: set = set()
    total = 0
    for path in parts:
        objects = build_application(make_app(repo, path, name=path.replace("/", "-")), fetched.trees[version],
                                    kustomize=kustomize)
        assert objects, path
        union |= ids(objects)
        total += len(objects)
    assert total == COUNTS[version]
    assert union == ids(example_builds[version])


def test_upstream_params_env_feeds_its_config_map(fetched, kustomize):
    """common/user-namespace (kept upstream for kfctl's sake) reads the user's profile from params.env."""
    repo = make_repo(fetched.urls["v1.10.2"], SHA["v1.10.2"])
    objects = build_application(
        make_app(repo, "common/user-namespace/base", parameters={"user": "alice@example.com", "profile-name": "alice"}),
        fetched.trees["v1.10.2"], kustomize=kustomize)
    (config,) = by_kind(objects, "ConfigMap")
    assert config["data"] == {"user": "alice@example.com", "profile-name": "alice"}
    env = (fetched.trees["v1.10.2"] / "common/user-namespace/base/params.env").read_text()
    assert "alice" not in env  # the cache is never written


def test_upstream_params_env_feeds_vars_with_overlay_and_namespace(fetched, kustomize):
    repo = make_repo(fetched.urls["v1.10.2"], SHA["v1.10.2"])
    objects = build_application(
        make_app(repo, "applications/jupyter/jupyter-web-app/upstream", overlays=("istio",),
                 parameters={"JWA_PREFIX": "/notebooks", "namespace": "team-a"}),
        fetched.trees["v1.10.2"], kustomize=kustomize)
    (deployment,) = by_kind(objects, "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["APP_PREFIX"] == "/notebooks"
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")} \
        == {"team-a"}
    assert by_kind(objects, "VirtualService")  # the istio overlay was built


# -- overlays, components, parameters (small fixture repo, used in place) ------------------------------


def test_package_with_base_folder_builds_the_base(mini, kustomize):
    objects = build(mini, "greeter", kustomize)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Deployment"]
    assert by_kind(objects, "Deployment")[0]["spec"]["replicas"] == 1


def test_one_overlay_replaces_the_base(mini, kustomize):
    objects = build(mini, "greeter", kustomize, overlays=("prod",))
    assert by_kind(objects, "Deployment")[0]["spec"]["replicas"] == 3
    assert len(objects) == 2


def test_component_overlays_are_added(mini, kustomize):
    objects = build(mini, "greeter", kustomize, overlays=("prod", "monitoring", "debug"))
    assert sorted(o["kind"] for o in objects) == ["ConfigMap", "Deployment", "Service"]
    assert by_kind(objects, "Deployment")[0]["spec"]["replicas"] == 3
    assert all(o["metadata"]["annotations"]["greeter.example.com/debug"] == "true" for o in objects)


def test_parameters_rewrite_params_env_and_namespace(mini, kustomize):
    objects = build(mini, "greeter", kustomize, parameters={"GREETING": "bonjour", "namespace": "fr"})
    (cm,) = by_kind(objects, "ConfigMap")
    assert cm["data"] == {"GREETING": "bonjour", "COLOR": "blue"}
    (deployment,) = by_kind(objects, "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == ["bonjour"]
    assert {o["metadata"]["namespace"] for o in objects} == {"fr"}
    assert "GREETING=hello" in (MINI / "greeter/base/params.env").read_text()


def test_non_string_parameter_values_are_written_as_kfctl_1x_did(mini, kustomize):
    objects = build(mini, "greeter", kustomize, parameters={"GREETING": True, "COLOR": 7})
    assert by_kind(objects, "ConfigMap")[0]["data"] == {"GREETING": "true", "COLOR": "7"}


def test_yaml_scalars_keep_their_type(mini, kustomize):
    (cm,) = build(mini, "single", kustomize)
    assert cm["data"] == {"on": "yes", "octal": "0755"}


# -- errors --------------------------------------------------------------------------------------------

LABEL = "application 'app' (repo 'mini' (kfdef.yaml:7), path {path!r})"


def fails(error, mini, path, kustomize, **kw):
    with pytest.raises(error) as err:
        build(mini, path, kustomize, **kw)
    assert err.value.exit_code == EXIT_INPUT
    return err.value


def test_missing_path_lists_what_is_there(mini, kustomize):
    err = fails(RepoPathError, mini, "greeter/overlay/prod", kustomize)
    assert err.message == (LABEL.format(path="greeter/overlay/prod") + ": repoRef.path 'greeter/overlay/prod' is "
                           "not in the repo: greeter has no folder 'overlay' (did you mean 'overlays'?); it holds: "
                           "base/, overlays/")
    assert err.hint == "the repo has it at 'greeter/overlays/prod'"


def test_missing_top_folder(fetched, kustomize):
    repo = make_repo(fetched.urls["v1.10.2"], SHA["v1.10.2"])
    with pytest.raises(RepoPathError) as err:
        build_application(make_app(repo, "apps/katib/upstream"), fetched.trees["v1.10.2"], kustomize=kustomize)
    assert "the repo's top folder has no folder 'apps'" in err.value.message
    assert "applications/, common/, example/" in err.value.message
    assert err.value.hint == "the repo has it at 'applications/katib/upstream'"


def test_paths_moved_by_an_upgrade_are_found(fetched, kustomize):
    """1.9.1's paths in the 1.10.2 repo: the error says where each package went."""
    repo = make_repo(fetched.urls["v1.10.2"], SHA["v1.10.2"])
    moved = {"common/istio-1-22/istio-crds/base": "common/istio/istio-crds/base",
             "contrib/kserve/models-web-app/overlays/kubeflow": "applications/kserve/models-web-app/overlays/kubeflow"}
    for old, new in moved.items():
        with pytest.raises(RepoPathError) as err:
            build_application(make_app(repo, old), fetched.trees["v1.10.2"], kustomize=kustomize)
        assert err.value.hint == f"the repo has it at {new!r}"


@pytest.mark.parametrize("path", ["../outside", "/etc", "greeter/../../x"])
def test_path_must_stay_inside_the_repo(mini, kustomize, path):
    err = fails(RepoPathError, mini, path, kustomize)
    assert err.message.endswith(f"repoRef.path {path!r} must be a relative path inside the repo, without '..'")


def test_folder_without_kustomization(mini, kustomize):
    err = fails(RepoPathError, mini, "notpkg", kustomize)
    assert err.message == (LABEL.format(path="notpkg") + ": 'notpkg' has no kustomization.yaml (nor "
                           "base/kustomization.yaml); it holds: inner/")
    assert err.hint == "point repoRef.path at a package: notpkg/inner/a"


def test_missing_overlay_lists_the_overlays(mini, kustomize):
    err = fails(RepoPathError, mini, "greeter", kustomize, overlays=("gcp",))
    assert err.message == (LABEL.format(path="greeter") + ": overlay 'gcp' is not in the repo: greeter/overlays/gcp "
                           "has no kustomization; overlays there: debug, monitoring, prod, staging")


def test_two_plain_overlays_cannot_be_combined(mini, kustomize):
    err = fails(RepoPathError, mini, "greeter", kustomize, overlays=("prod", "staging"))
    assert err.message == (LABEL.format(path="greeter") + ": overlays 'prod' and 'staging' are both complete "
                           "kustomizations that include the base; kustomize cannot combine them (the base's objects "
                           "would be duplicated)")


def test_unknown_parameter_lists_the_known_ones(mini, kustomize):
    err = fails(RepoPathError, mini, "greeter", kustomize, parameters={"GREETNG": "hi"})
    assert err.message == (LABEL.format(path="greeter") + ": parameter 'GREETNG' is not in any params.env the package "
                           "reads (did you mean 'GREETING'?); it takes: GREETING (greeter/base/params.env), "
                           "COLOR (greeter/base/params.env)")


def test_parameter_on_a_package_without_params_env(mini, kustomize):
    err = fails(RepoPathError, mini, "single", kustomize, parameters={"userid-header": "x"})
    assert err.message == (LABEL.format(path="single") + ": parameter 'userid-header' cannot be set: the package "
                           "reads no params.env (since Kubeflow 1.3 most packages take no parameters); only "
                           "'namespace' applies to any package")


def test_structured_parameter_value_is_refused(mini, kustomize):
    err = fails(RepoPathError, mini, "greeter", kustomize, parameters={"GREETING": {"a": 1}})
    assert err.message.endswith("parameter 'GREETING' must be a single-line string, number or boolean (got dict)")


def test_kustomize_error_text_is_included(mini, kustomize):
    err = fails(KustomizeError, mini, "broken", kustomize)
    assert err.message.startswith(LABEL.format(path="broken") + ": kustomize build failed:\nerror: ")
    assert "missing.yaml" in err.message
    assert err.output in err.message


def test_kustomize_load_restrictor_stays_on(mini, kustomize):
    err = fails(KustomizeError, mini, "loose/pkg", kustomize)
    assert "is not in or below" in err.output


def test_remote_resources_need_a_resolver(mini, kustomize):
    """Without kfctl.repos.remotes (cache, lock, mirrors), a remote resource is named, not fetched by kustomize."""
    err = fails(NotCached, mini, "remote", kustomize)
    assert err.items == ["https://github.com/kubeflow/manifests//common/kubeflow-namespace/base?ref=v1.10.2 "
                         "(in remote/kustomization.yaml:4)"]
