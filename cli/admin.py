"""`broadsheet admin ...`: the accounts of the web admin (add-user, list, remove)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from accounts.audit import CLI
from accounts.users import add_user, list_users, parse_role, remove_user
from cli.common import console, one_line_errors, print_json, runtime

admin_app = typer.Typer(
    help="Accounts of the web admin at /admin (owners, editors, viewers).", no_args_is_help=True
)


@admin_app.command("add-user")
@one_line_errors
def add(
    email: str = typer.Argument(..., help="Their address; they log in with it."),
    role: str = typer.Option(
        ..., help="owner (everything), editor (create, preview, test) or viewer (read only)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add an admin; the password is asked for (twice), or read from stdin for scripts."""
    chosen = parse_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with runtime().db.session() as session:
        user = add_user(session, email, password, chosen, CLI)
        console.print(f"added {user.email} as {user.role.value}")


@admin_app.command("list")
@one_line_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every admin with their role and last login."""
    with runtime().db.session() as session:
        rows = [
            {
                "email": u.email,
                "role": u.role.value,
                "created_at": u.created_at.isoformat(),
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
            }
            for u in list_users(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("email", "role", "last login")
    for row in rows:
        table.add_row(row["email"], row["role"], row["last_login_at"] or "never")
    console.print(table)


@admin_app.command("remove")
@one_line_errors
def remove(email: str = typer.Argument(..., help="The admin's address.")) -> None:
    """Remove an admin; their sessions end at once. The last owner cannot be removed."""
    with runtime().db.session() as session:
        remove_user(session, email, CLI)
    console.print(f"removed {email.strip().lower()}")
