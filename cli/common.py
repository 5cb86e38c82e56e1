"""What every command shares: one-line errors, the runtime, consoles."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from config.runtime import Runtime, get_runtime
from config.settings import SettingsError
from config.site import SiteConfigError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

# Errors that are the user's to fix: shown as one line, exit status 1.
USER_ERRORS: tuple[type[Exception], ...] = (SettingsError, SiteConfigError, ValueError, LookupError)


def one_line_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except OperationalError as exc:
            # An unreachable or refusing database is the operator's to fix, not a bug:
            # one line naming the database (password hidden) and the driver's first line.
            reason = _first_line(exc.orig or exc)
            if "no such table" in reason:
                reason += " (run `broadsheet init` to create the tables)"
            err_console.print(
                f"[red]error:[/red] database {_database_name()} is not usable: {reason}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _database_name() -> str:
    return get_runtime().db.engine.url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def runtime() -> Runtime:
    return get_runtime()


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
