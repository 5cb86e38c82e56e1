"""GET /r/{token}: the tracked sponsor redirect.

The token is signed (purpose `redirect`) and names [campaign, delivery, sponsor];
the target is always the URL of the creative that campaign's edition carried (the
sponsor desk's booking; sponsorship.source), never a URL from the request, so the
route cannot be used as an open redirect. Clicks are counted per booking.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import update

from campaigns.compose import edition_day, with_utm
from config.runtime import Runtime
from db.models import MAX_ID, Campaign, Delivery, SponsorClick, utcnow
from sponsorship.source import sponsor_in_campaign
from subscribers.ratelimit import RateLimiter, make_rate_limiter
from subscribers.tokens import InvalidToken, Purpose, read_token

router = APIRouter(tags=["public"])

NOT_FOUND_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not found</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;max-width:32em;margin:3em auto;padding:0 1em;">
<h1>This link does not work</h1>
<p>It may have been copied incompletely, or the offer it pointed to has ended.</p></body></html>"""


# A click counts once per link and reader in this window; more opens still redirect.
CLICK_WINDOW_SECONDS = 3600


def _is_id(value: object) -> bool:
    # bool is an int subclass; a signed `true` or 2^80 is still not an id.
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _payload(secret_key: str, token: str) -> tuple[int, int | None, str] | None:
    try:
        payload = read_token(secret_key, Purpose.redirect, token)
    except InvalidToken:
        return None
    match payload:
        case [int(campaign_id), (int() | None) as delivery_id, str(sponsor)] if _is_id(
            campaign_id
        ) and (delivery_id is None or _is_id(delivery_id)):
            return campaign_id, delivery_id, sponsor
    return None


def _first_click(request: Request, token: str) -> bool:
    """Whether this reader's click on this link counts (once per CLICK_WINDOW_SECONDS).

    Archive links carry no delivery, so reloading one could otherwise inflate a
    sponsor's clicks without limit. The key holds a hash of the token, not the token.
    """
    limiter: RateLimiter | None = getattr(request.app.state, "click_limiter", None)
    if limiter is None:
        redis_url = request.app.state.runtime.settings.redis_url
        limiter = make_rate_limiter(1, redis_url, window=CLICK_WINDOW_SECONDS)
        request.app.state.click_limiter = limiter
    client = request.client.host if request.client else "unknown"
    digest = hashlib.sha256(f"{token}|{client}".encode()).hexdigest()[:32]
    return limiter.hit(f"click:{digest}").allowed


@router.get("/r/{token}", response_class=RedirectResponse, responses={404: {}})
def sponsor_redirect(token: str, request: Request) -> Response:
    """Count the click, then send the reader to the sponsor's configured URL."""
    rt: Runtime = request.app.state.runtime
    found = _payload(rt.settings.secret_key, token)
    if found is None:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
    campaign_id, delivery_id, name = found
    site = rt.site
    with rt.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        day = edition_day(site, campaign) if campaign else utcnow().date()
        sponsor = sponsor_in_campaign(session, site, campaign_id, name, day)
    if sponsor is None:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
    target = RedirectResponse(with_utm(str(sponsor.url), campaign_id), status_code=302)
    if not _first_click(request, token):
        return target
    with rt.db.session() as session:
        session.add(
            SponsorClick(
                sponsor_name=sponsor.name,
                campaign_id=campaign_id,
                delivery_id=delivery_id,
                booking_id=getattr(sponsor, "booking_id", None),
            )
        )
        if delivery_id is not None:
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.campaign_id == campaign_id)
                .values(clicked=True)
            )
    return target
