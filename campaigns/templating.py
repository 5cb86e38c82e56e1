"""Jinja2 environments: one for the project's own template files, one sandbox for text as data.

Template files under `templates/` are written by whoever runs the site and are
trusted. Template text kept as data -- a campaign's subject typed into the CLI
or the admin API, a schedule's subject in the site file -- is not: it renders
in an immutable sandbox with no globals (no `range`, `lipsum`, `cycler`...),
a short list of text filters and bounded `*`/`**`, so it can reach only the
values it is given and cannot run code or exhaust memory. Feed-supplied text
(post titles, summaries) is only ever a value in a context, never template
source, so `{{ }}` in a title renders literally.
"""

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
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from config.resources import TEMPLATES_DIR


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


# What a subject line may need; everything else (e.g. `center(10**9)`, `batch`) is left out.
_TEXT_FILTERS = (
    "capitalize", "count", "d", "default", "first", "join", "last", "length", "lower",
    "replace", "string", "striptags", "title", "trim", "truncate", "upper", "wordcount",
)  # fmt: skip
MAX_SOURCE_CHARS = 1000  # a subject template longer than this is a mistake or an attack
_MAX_OPERAND = 1000  # the largest number `*` and `**` take in a sandboxed template
_MAX_REPEATED = 10_000  # the longest string or list `*` may build there


class _TextSandbox(ImmutableSandboxedEnvironment):
    """Sandboxed Jinja for untrusted template text: no globals, few filters, bounded operators."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: object, operator: str, left: object, right: object) -> object:
        # The sandbox stops attribute escapes, not `'x' * 10**9`: bound both here.
        numbers = [v for v in (left, right) if isinstance(v, int)]
        sized = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
        if any(abs(n) > _MAX_OPERAND for n in numbers) or (
            sized and numbers and sized[0] * abs(numbers[0]) > _MAX_REPEATED
        ):
            raise SecurityError(f"the operand of {operator} is too large in this template")
        return super().call_binop(context, operator, left, right)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def sandbox() -> Environment:
    env = _TextSandbox(
        autoescape=False,  # subjects are plain text; HTML parts escape them when they show them
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in _TEXT_FILTERS}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "string")}
    return env


def render_string(source: str, context: dict[str, object], name: str) -> str:
    """Render short template text kept as data (e.g. a campaign's subject) in the sandbox.

    `name` labels errors. Anything the sandbox refuses (an attribute starting
    with `_`, an unknown filter, an oversized repeat) is a TemplateRenderError.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRenderError(f"template {name}: longer than {MAX_SOURCE_CHARS} characters")
    try:
        return _compiled(source).render(context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise TemplateRenderError(f"template {name}:{line}: {_message(exc)}") from exc


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Compiling costs ~0.6 ms and a campaign renders its subject once per variant."""
    return sandbox().from_string(source)


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
