"""The one Jinja2 environment bundles and overlays are rendered with.

Sandboxed (templates cannot reach Python internals or mutate the context),
``StrictUndefined`` (a misspelt name fails instead of rendering as empty),
deterministic (the ``random`` filter and ``lipsum`` are removed),
no autoescaping (the output is YAML, not HTML) and a plain-JSON ``tojson``
(Jinja's own escapes ``<``, ``>``, ``&`` and ``'`` for HTML). Any failure
becomes a :class:`~kfctl.errors.TemplateError` that names ``template:line``.

Values from the KfDef reach templates only as data in the context; nothing
ever renders a value as a template, so ``{{ ... }}`` in a parameter comes out
literally.
"""

from __future__ import annotations

import base64
import functools
import os
import json
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kfctl import paths
from kfctl.errors import TemplateError


def _json_default(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here, naming the missing attribute
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the data root when inside it."""
    path = Path(path)
    for root in (paths.data_root(), Path.cwd()):
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in ``$XDG_CACHE_HOME/kfctl/jinja`` (keyed by each template's source
    checksum, so an edited template is recompiled); compiling every bundle template was half the
    time of a render. None (no cache) where that folder cannot be made."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    folder = base / "kfctl" / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


class FileMapLoader(jinja2.BaseLoader):
    """Templates by file name from an explicit name -> file map.

    A component that extends its base release's component renders its own
    templates and the base's it does not override (or drop); ``{% include %}``
    and ``{% import %}`` resolve through the same map, so a base template
    including ``_x.j2`` gets the override when there is one.
    """

    def __init__(self, files: tuple[tuple[str, Path], ...]) -> None:
        self.files = dict(files)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        path = self.files.get(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise jinja2.TemplateNotFound(template) from exc
        return source, str(path), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.files)


@functools.lru_cache(maxsize=256)
def environment(folder: Path | tuple[tuple[str, Path], ...]) -> jinja2.Environment:
    """The sandboxed environment loading templates from ``folder``, or from a (name, file) map
    (cached per folder or map)."""
    loader = FileMapLoader(folder) if isinstance(folder, tuple) else jinja2.FileSystemLoader(str(folder))
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,
        bytecode_cache=_bytecode_cache(),
    )
    # Output must be a function of the input: no random values.
    env.filters.pop("random", None)
    env.globals.pop("lipsum", None)
    env.filters["tojson"] = _tojson
    env.filters["b64encode"] = _b64encode
    env.policies["json.dumps_function"] = json.dumps
    return env


def _template_line(exc: BaseException, filename: str) -> int | None:
    """The template line of a runtime error, from Jinja's rewritten traceback."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def render_file(path: Path, context: Mapping[str, Any], *, files: Mapping[str, Path] | None = None) -> str:
    """Render one template file; every failure is a TemplateError naming ``file:line``.

    ``files`` (a component's template map) resolves the file and its includes by
    name; without it they are read from the file's folder.
    """
    path = Path(path)
    shown = display_path(path)
    env = environment(tuple(files.items()) if files is not None else path.parent.resolve())
    try:
        template = env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{shown}:{exc.lineno}: syntax error: {exc.message}",
                            hint="fix the template's Jinja2 syntax") from None
    except (OSError, jinja2.TemplateNotFound) as exc:
        raise TemplateError(f"{shown}: cannot read template: {exc}") from None
    try:
        return template.render(**context)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, template.filename or "")
        where = f"{shown}:{line}" if line else shown
        raise TemplateError(
            f"{where}: {exc.message}",
            hint=f"the context has: {', '.join(sorted(context))}; parameters are under 'params'",
        ) from None
    except jinja2.TemplateError as exc:  # SecurityError, TemplateRuntimeError, nested syntax errors
        line = getattr(exc, "lineno", None) or _template_line(exc, template.filename or "")
        where = f"{shown}:{line}" if line else shown
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        line = _template_line(exc, template.filename or "")
        where = f"{shown}:{line}" if line else shown
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None
