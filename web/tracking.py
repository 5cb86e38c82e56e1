"""GET /r/{token}: the tracked sponsor redirect.

The token is signed (purpose `redirect`) and names [campaign, delivery, sponsor];
the target is always that sponsor's URL from the site file, never a URL from the
request, so the route cannot be used as an open redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import update

from campaigns.compose import with_utm
from campaigns.sponsors import by_name
from config.runtime import Runtime
from db.models import Delivery, SponsorClick
from subscribers.tokens import InvalidToken, Purpose, read_token

router = APIRouter(tags=["public"])

NOT_FOUND_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not found</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;max-width:32em;margin:3em auto;padding:0 1em;">
<h1>This link does not work</h1>
<p>It may have been copied incompletely, or the offer it pointed to has ended.</p></body></html>"""


def _payload(secret_key: str, token: str) -> tuple[int, int | None, str] | None:
    try:
        payload = read_token(secret_key, Purpose.redirect, token)
    except InvalidToken:
        return None
    match payload:
        case [int(campaign_id), (int() | None) as delivery_id, str(sponsor)]:
            return campaign_id, delivery_id, sponsor
    return None


@router.get("/r/{token}", response_class=RedirectResponse, responses={404: {}})
def sponsor_redirect(token: str, request: Request) -> Response:
    """Count the click, then send the reader to the sponsor's configured URL."""
    rt: Runtime = request.app.state.runtime
    found = _payload(rt.settings.secret_key, token)
    sponsor = by_name(rt.site.sponsors, found[2]) if found else None
    if found is None or sponsor is None:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
    campaign_id, delivery_id, _ = found
    with rt.db.session() as session:
        session.add(
            SponsorClick(
                sponsor_name=sponsor.name, campaign_id=campaign_id, delivery_id=delivery_id
            )
        )
        if delivery_id is not None:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.campaign_id == campaign_id)
                .values(clicked=True)
            )
    return RedirectResponse(with_utm(str(sponsor.url), campaign_id), status_code=302)
