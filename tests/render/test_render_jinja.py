"""The sandboxed template environment and its error messages."""

from __future__ import annotations

import pytest

from kfctl.errors import TemplateError
from kfctl.render import jinja


def _render(tmp_path, text, **context):
    path = tmp_path / "t.yaml.j2"
    path.write_text(text)
    return jinja.render_file(path, context)


def test_undefined_attribute_names_template_line_and_name(tmp_path):
    with pytest.raises(TemplateError) as info:
        _render(tmp_path, "a: 1\nb: 2\nc: {{ params.replica }}\n", params={"replicas": 1})
    assert "t.yaml.j2:3:" in info.value.message
    assert "replica" in info.value.message
    assert info.value.exit_code == 2


def test_undefined_top_level_name(tmp_path):
    with pytest.raises(TemplateError, match=r"t.yaml.j2:2: 'nmespace' is undefined"):
        _render(tmp_path, "a: 1\nb: {{ nmespace }}\n", namespace="x")


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(TemplateError, match=r"t.yaml.j2:2: syntax error"):
        _render(tmp_path, "a: 1\n{% if x %}\n")


def test_sandbox_refuses_internals(tmp_path):
    with pytest.raises(TemplateError, match="t.yaml.j2"):
        _render(tmp_path, "{{ params.__class__.__mro__[1].__subclasses__() }}", params={})
    with pytest.raises(TemplateError):
        _render(tmp_path, "{{ params.update({'a': 1}) }}", params={})


def test_tojson_is_plain_json_without_html_escaping(tmp_path):
    out = _render(tmp_path, "v: {{ x | tojson }}\n", x="<a & 'b'> ü")
    assert out == "v: \"<a & 'b'> \u00fc\"\n"


def test_values_are_data_never_templates(tmp_path):
    out = _render(tmp_path, "v: {{ x | tojson }}\nw: {{ x }}\n", x="{{ 7 * 7 }}")
    assert out == 'v: "{{ 7 * 7 }}"\nw: {{ 7 * 7 }}\n'


def test_b64encode(tmp_path):
    assert _render(tmp_path, "{{ 'pw' | b64encode }}") == "cHc="


def test_undefined_piped_to_tojson_names_the_missing_attribute(tmp_path):
    with pytest.raises(TemplateError, match=r"t.yaml.j2:2: 'dict object' has no attribute 'replica'"):
        _render(tmp_path, "a: 1\nb: {{ params.replica | tojson }}\n", params={"replicas": 1})


def test_no_random_values(tmp_path):
    with pytest.raises(TemplateError, match="random"):
        _render(tmp_path, "{{ [1, 2, 3] | random }}")
    with pytest.raises(TemplateError, match="lipsum"):
        _render(tmp_path, "{{ lipsum() }}")
