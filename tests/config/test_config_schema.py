"""The shipped KfDef JSON Schema and the human rewrite of jsonschema's messages."""

from __future__ import annotations

import pytest
from pathlib import Path
from jsonschema import Draft202012Validator

from kfctl.config import parse_kfdef
from kfctl.config.schema import kfdef_schema, validator_for
from kfctl.errors import ConfigError


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_kfdef(text, file="k.yaml", default_name="x")
    return [str(p) for p in info.value.problems]


def test_schema_is_valid_draft_2020_12():
    schema = kfdef_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_v1_and_v1beta1_share_the_schema():
    assert kfdef_schema()["properties"]["apiVersion"]["enum"] == [
        "kfdef.apps.kubeflow.org/v1", "kfdef.apps.kubeflow.org/v1beta1"]
    body = "kind: KfDef\nmetadata: {name: a}\nspec:\n  applications: [{name: katib}]\n"
    for version in ("v1", "v1beta1"):
        kfdef = parse_kfdef(f"apiVersion: kfdef.apps.kubeflow.org/{version}\n" + body)
        assert kfdef.api_version.endswith(version) and kfdef.namespace == "kubeflow"


def test_unknown_field_names_the_key_and_suggests_and_hides_the_echoing_required_error():
    problems = _problems("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\n"
                         "spec:\n  applications:\n  - nmae: katib\n    paramters: []\n")
    assert problems == [
        "k.yaml:5:5: spec.applications[0].nmae: unknown field 'nmae' (did you mean 'name'?) "
        "(hint: fields allowed here: kustomizeConfig, name, parameters, provided)",
        "k.yaml:6:5: spec.applications[0].paramters: unknown field 'paramters' (did you mean 'parameters'?) "
        "(hint: fields allowed here: kustomizeConfig, name, parameters, provided)",
    ]


def test_type_errors_say_what_was_expected_and_found():
    problems = _problems("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nspec:\n"
                         "  applications: [{name: katib}]\n  repos: {name: x}\n")
    assert problems == ["k.yaml:5:10: spec.repos: expected a list, got a mapping"]


def test_kfctl_1x_bookkeeping_fields_are_accepted():
    kfdef = parse_kfdef("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\n"
                        "metadata:\n  name: a\n  clusterName: arn:aws:eks:x\n  creationTimestamp: null\n"
                        "  annotations: {kfctl.kubeflow.io/force-delete: 'false'}\n"
                        "spec:\n  applications: [{name: katib}]\nstatus: {}\n")
    assert kfdef.name == "a"


def test_component_schemas_are_checked_as_2020_12():
    validator = validator_for({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert not list(validator.iter_errors({"n": 1}))
    assert list(validator.iter_errors({"n": "1"}))


def test_the_schema_file_names_no_key_twice():
    """json.load keeps the last of two equal keys silently (two $defs merged from two branches did once)."""
    import json

    from kfctl.config import schema as schema_module

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
        return dict(pairs)

    path = Path(schema_module.__file__).with_name("kfdef.schema.json")
    json.loads(path.read_text(), object_pairs_hook=no_duplicates)
