"""Who may do what in the admin: one table, read by the web admin's single check.

Roles are ordered: viewer < editor < owner. An action names the least role
that may do it; a role may do everything its lower roles may.
"""

from __future__ import annotations

from db.models import AdminRole

RANK = {AdminRole.viewer: 0, AdminRole.editor: 1, AdminRole.owner: 2}

# action -> the least role allowed to do it
PERMISSIONS: dict[str, AdminRole] = {
    "read": AdminRole.viewer,
    "campaign.create": AdminRole.editor,
    "campaign.preview": AdminRole.editor,
    "campaign.test": AdminRole.editor,
    "feeds.poll": AdminRole.editor,
    "sponsors.manage": AdminRole.editor,  # sponsors, inventory, bookings, creative review
    "campaign.send": AdminRole.owner,
    "campaign.pause": AdminRole.owner,
    "campaign.resume": AdminRole.owner,
    "campaign.cancel": AdminRole.owner,
    "subscribers.add": AdminRole.owner,
    "subscribers.import": AdminRole.owner,
    "subscribers.export": AdminRole.owner,
    "subscribers.erase": AdminRole.owner,
    "users.manage": AdminRole.owner,
    "sponsors.revenue": AdminRole.owner,  # price, invoice, paid
}


def allows(role: AdminRole, action: str) -> bool:
    """True when `role` may do `action`; an unknown action is allowed to nobody."""
    needed = PERMISSIONS.get(action)
    return needed is not None and RANK[role] >= RANK[needed]
