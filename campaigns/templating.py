"""The Jinja2 environment shared by email and web templates."""

from __future__ import annotations

import traceback
from functools import lru_cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)

from config.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"


class TemplateRenderError(ValueError):
    """A template failed; the message names the template and line. The user fixes it."""


@lru_cache(maxsize=4)
def environment(directory: Path = TEMPLATES_DIR) -> Environment:
    return Environment(
        loader=FileSystemLoader(directory),
        # .txt parts are plain text and must not be HTML-escaped.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


def render(name: str, context: dict[str, object], directory: Path = TEMPLATES_DIR) -> str:
    """Render a template file; any failure names the template file and line at fault."""
    try:
        return environment(directory).get_template(name).render(context)
    except TemplateError as exc:
        raise TemplateRenderError(
            f"template {_where(exc, name, directory)}: {_message(exc)}"
        ) from exc


def render_string(source: str, context: dict[str, object], name: str) -> str:
    """Render a short template kept as data (e.g. a campaign's subject); `name` labels errors."""
    try:
        template: Template = environment().from_string(source)
        return template.render(context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise TemplateRenderError(f"template {name}:{line}: {_message(exc)}") from exc


def _message(exc: TemplateError) -> str:
    return exc.message or type(exc).__name__


def _where(exc: TemplateError, name: str, directory: Path) -> str:
    """`file:line` of the failure, also for errors raised while rendering an included block."""
    if isinstance(exc, TemplateSyntaxError) and exc.lineno:
        return f"{exc.name or exc.filename or name}:{exc.lineno}"
    # Runtime errors (an undefined name, a failing filter) carry no location, but
    # Jinja rewrites the traceback so template frames point at template files.
    root = str(directory.resolve())
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(root):
            return f"{Path(frame.filename).relative_to(root).as_posix()}:{frame.lineno}"
    return name
