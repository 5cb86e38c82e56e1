"""The admin audit log: every admin action, who did it, when and from where.

Targets name subscribers by id or email hash, never by address, so erasing a
person leaves nothing personal in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AdminAudit, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: an admin's address and IP, or `cli` and None."""

    name: str
    ip: str | None = None


CLI = Actor("cli")


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> AdminAudit:
    """Add one entry in the caller's transaction: the action and its record commit together."""
    entry = AdminAudit(
        at=utcnow(), actor=actor.name, action=action, target=target, ip=actor.ip, detail=detail
    )
    session.add(entry)
    return entry


def page(session: Session, *, before_id: int | None = None, limit: int = 50) -> list[AdminAudit]:
    """Newest first; pass the last id shown as `before_id` for the next page (keyset)."""
    query = select(AdminAudit)
    if before_id is not None:
        query = query.where(AdminAudit.id < before_id)
    return list(session.scalars(query.order_by(AdminAudit.id.desc()).limit(limit)))
