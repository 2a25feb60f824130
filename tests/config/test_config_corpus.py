"""The KfDef corpus: every bad file fails with its pinned, located message; every good file loads.

Each file under tests/data/kfdefs/bad/ starts with ``# expect: A || B ...``:
every part must appear in the report (``LINE:COL: ...`` parts prefixed with the
file name), and the report holds exactly that many problems.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kfctl.config import load_kfdef, validate_file
from kfctl.errors import ConfigError, InputError

KFDEFS = Path(__file__).resolve().parent.parent / "data" / "kfdefs"
BAD = sorted((KFDEFS / "bad").glob("*.yaml"))
GOOD = sorted((KFDEFS / "good").glob("*.yaml"))


def _expectations(path: Path) -> list[str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name} has no '# expect:' first line"
    return [part.strip() for part in first[len("# expect: "):].split(" || ")]


def test_the_corpus_is_large_enough():
    assert len(BAD) >= 30
    assert len(GOOD) >= 5


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_kfdef_reports_pinned_located_problems(path, fake_catalog):
    name = f"bad/{path.name}"
    with pytest.raises(ConfigError) as info:
        validate_file(path, fake_catalog, display=name, environ={})
    error = info.value
    assert isinstance(error, InputError) and error.exit_code == 2
    report = error.render()
    assert "Traceback" not in report
    expected = _expectations(path)
    for part in expected:
        needle = f"{name}:{part}" if re.match(r"^\d+:\d+: ", part) else part
        assert needle in report, f"missing {needle!r} in:\n{report}"
    located = [p for p in error.problems if p.line is not None and p.column is not None]
    assert located == list(error.problems), "every problem carries a line and column"
    if error.summary.endswith("found"):
        assert len(error.problems) == len(expected), report


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_kfdef_loads_and_resolves(path, fake_catalog):
    kfdef = load_kfdef(path)
    selection = validate_file(path, fake_catalog, environ={})
    assert selection.kfdef == kfdef
    assert selection.components or selection.repo_applications
    order = list(selection.names)
    for comp in selection.components:
        for dep in fake_catalog.components[comp.name].depends_on:
            if dep.name in order:
                assert order.index(dep.name) < order.index(comp.name), f"{dep.name} must come before {comp.name}"


def test_problems_are_reported_all_at_once_in_file_order(fake_catalog):
    with pytest.raises(ConfigError) as info:
        validate_file(KFDEFS / "bad" / "many-problems.yaml", fake_catalog, environ={})
    lines = [p.line for p in info.value.problems]
    assert len(lines) == 5 and lines == sorted(lines)
    assert info.value.render().endswith("5 problems found")


def test_unknown_component_hint_lists_the_known_ones(fake_catalog):
    with pytest.raises(ConfigError) as info:
        validate_file(KFDEFS / "bad" / "unknown-component.yaml", fake_catalog, environ={})
    hint = info.value.problems[0].hint
    assert hint.startswith("did you mean 'katib'? known: central-dashboard, cert-manager, istio, katib,")


def test_v1alpha1_refusal_maps_every_field_present(fake_catalog):
    with pytest.raises(ConfigError) as info:
        load_kfdef(KFDEFS / "bad" / "v1alpha1.yaml")
    report = info.value.render()
    for field in ("spec.components", "spec.componentParams", "spec.packages", "spec.repo", "spec.platform",
                  "spec.project", "spec.zone", "spec.useIstio", "spec.appdir", "spec.version"):
        assert field in report
    assert "spec.components      -> spec.applications[].name" in report
    assert "one application per component, e.g. `- name: katib`)  (line 8)" in report


def test_a_flood_of_problems_is_cut_to_the_first_fifty(tmp_path, fake_catalog):
    path = tmp_path / "flood.yaml"
    path.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: a}\nspec:\n"
                    "  applications:\n" + "".join(f"  - zzz{i}: x\n" for i in range(300)))
    with pytest.raises(ConfigError) as info:
        validate_file(path, fake_catalog, environ={})
    assert len(info.value.problems) == 50
    assert info.value.render().endswith("600 problems found (the first 50 are shown)")
