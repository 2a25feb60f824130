"""kfctl.repos.mirrors: URL prefixes rewritten for air-gapped installs, from mirrors.yaml and $KFCTL_MIRRORS."""

from __future__ import annotations

import pytest

from kfctl.errors import InputError
from kfctl.repos.mirrors import Mirrors, load_mirrors


def test_longest_prefix_wins_and_other_urls_pass_through():
    m = Mirrors({"https://github.com/": "https://mirror.example/gh/",
                 "https://github.com/kubernetes-sigs/": "file:///srv/k8s-sigs/"})
    assert m.rewrite("https://github.com/argoproj/argo-workflows") == "https://mirror.example/gh/argoproj/argo-workflows"
    assert m.rewrite("https://github.com/kubernetes-sigs/lws") == "file:///srv/k8s-sigs/lws"
    assert m.rewrite("https://dl.example/x.yaml") == "https://dl.example/x.yaml"
    assert not Mirrors() and m


def test_file_beside_the_kfdef_then_environment(tmp_path):
    kfdef = tmp_path / "kfdef.yaml"
    kfdef.write_text("")
    (tmp_path / "mirrors.yaml").write_text("mirrors:\n  https://github.com/: https://a.example/\n"
                                           "  https://dl.k8s.io/: https://b.example/\n")
    env = {"KFCTL_MIRRORS": "https://github.com/=http://127.0.0.1:8080/github/, https://x.example/=https://y.example/"}
    m = load_mirrors(kfdef, env)
    assert m.table == {"https://github.com/": "http://127.0.0.1:8080/github/", "https://dl.k8s.io/": "https://b.example/",
                       "https://x.example/": "https://y.example/"}
    assert load_mirrors(kfdef, {}).rewrite("https://github.com/o/r") == "https://a.example/o/r"
    assert load_mirrors(None, {}).table == {}


@pytest.mark.parametrize("env, text", [({"KFCTL_MIRRORS": "https://github.com/"}, None),
                                       ({}, "mirrors: [https://github.com/]\n"),
                                       ({}, "mirrors:\n  https://github.com/: 3\n"),
                                       ({}, "- not a mapping\n")])
def test_bad_settings_are_input_errors(tmp_path, env, text):
    kfdef = tmp_path / "kfdef.yaml"
    if text is not None:
        (tmp_path / "mirrors.yaml").write_text(text)
    with pytest.raises(InputError) as err:
        load_mirrors(kfdef, env)
    assert ("KFCTL_MIRRORS" in str(err.value)) if text is None else ("mirrors.yaml" in str(err.value))
