"""The Jinja2 environment shared by email and web templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from config.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"


class TemplateRenderError(RuntimeError):
    """A template failed; the message names the template and line."""


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


def render(name: str, context: dict[str, object]) -> str:
    try:
        return environment().get_template(name).render(context)
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or name
        line = getattr(exc, "lineno", None)
        at = f"{where}:{line}" if line else str(where)
        raise TemplateRenderError(f"template {at}: {exc.message or exc}") from exc
