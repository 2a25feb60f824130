"""Deterministic YAML: key order, literal blocks, strict loading."""

from __future__ import annotations

import pytest
import yaml

from kfctl.render import yamlio


def test_kubectl_order_first_then_template_order():
    obj = {"spec": {"z": 1, "a": 2}, "metadata": {"labels": {"b": "1"}, "name": "x", "namespace": "n"},
           "kind": "ConfigMap", "apiVersion": "v1"}
    text = yamlio.dump_objects([obj])
    assert text == ("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: n\n"
                    "  labels:\n    b: '1'\nspec:\n  z: 1\n  a: 2\n")


def test_multiline_strings_are_literal_blocks_and_round_trip():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
           "data": {"conf": "a: 1\nb: 2\n", "odd": "trailing space \nx"}}
    text = yamlio.dump_objects([obj])
    assert "conf: |\n" in text
    assert yamlio.load_all(text) == [obj]


def test_duplicate_keys_are_refused_with_a_line():
    with pytest.raises(yaml.YAMLError) as info:
        yamlio.load_all("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert "duplicate key 'c'" in str(info.value)
    assert info.value.problem_mark.line == 3


def test_empty_documents_are_dropped():
    assert yamlio.load_all("---\n---\na: 1\n---\n") == [{"a": 1}]
