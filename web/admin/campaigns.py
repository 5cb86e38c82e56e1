"""Admin API: campaigns."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select

from config.runtime import Runtime
from db.models import Campaign
from delivery.ledger import counts_by_status

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


class CampaignOut(BaseModel):
    id: int
    subject: str
    status: str
    lists: list[str]
    post_ids: list[int]
    deliveries: dict[str, int]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("", response_model=list[CampaignOut])
def list_campaigns(request: Request, limit: int = 50) -> list[CampaignOut]:
    """Newest campaigns first, with delivery counts by state."""
    rt = _runtime(request)
    with rt.db.session() as session:
        campaigns = session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit))
        return [
            CampaignOut(
                id=c.id,
                subject=c.subject,
                status=c.status.value,
                lists=c.list_slugs,
                post_ids=c.post_ids,
                deliveries=counts_by_status(session, c.id),
            )
            for c in campaigns
        ]
