"""POST /webhooks/sendgrid: SendGrid's signed Event Webhook.

Verify, store each event once, answer; applying the events is a task enqueued
after the commit (run inline in embedded mode). Status codes are chosen for
SendGrid's retry logic: a 2xx ends retries, anything else is retried for a day.
- 403 when no public key is configured (events are never taken unsigned), for
  a bad signature, or a timestamp outside the replay window;
- 503 when the database is unreachable;
- 400 for a body that is not a JSON array, 413 for an oversized one;
- 200 otherwise, listing the events skipped as unusable (retrying cannot fix them).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from config.runtime import Runtime
from feedback.events import BadBatch, parse_body, parse_events, store_events
from feedback.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verifier_for
from tasks.events import process_events
from web.limits import WEBHOOK_BODY_MAX

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

# web/limits.py refuses larger bodies while they stream; this check covers direct callers.
MAX_BODY_BYTES = WEBHOOK_BODY_MAX
PROCESS_CHUNK = 1000


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request) -> JSONResponse:
    """Take a batch of SendGrid events (signed Event Webhook)."""
    body = await request.body()
    runtime: Runtime = request.app.state.runtime
    return await run_in_threadpool(
        ingest,
        runtime,
        body,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
    )


def ingest(
    runtime: Runtime, body: bytes, signature: str | None, timestamp: str | None
) -> JSONResponse:
    settings = runtime.settings
    if not settings.sendgrid_webhook_public_key:
        log.error("SendGrid event refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
        return _answer(
            403, "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured; unsigned events are refused"
        )
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, f"body larger than {MAX_BODY_BYTES} bytes")
    verifier = verifier_for(
        settings.sendgrid_webhook_public_key, settings.sendgrid_webhook_max_age_seconds
    )
    try:
        verifier.verify(body, signature, timestamp)
        items = parse_body(body)
    except SignatureError as exc:
        log.warning("SendGrid event batch refused: %s", exc)
        return _answer(403, str(exc))
    except BadBatch as exc:
        log.warning("SendGrid event batch refused: %s", exc)
        return _answer(400, str(exc))
    batch = parse_events(items)
    try:
        with runtime.db.session() as session:
            stored = store_events(session, batch.rows)
    except SQLAlchemyError:
        log.exception("SendGrid events not stored; SendGrid will retry")
        return _answer(503, "events could not be stored; retry later")
    _enqueue_processing(stored.new_ids)
    return JSONResponse(
        {
            "received": len(items),
            "stored": len(stored.new_ids),
            "duplicates": stored.duplicates,
            "rejected": [{"index": r.index, "reason": r.reason} for r in batch.rejected],
        }
    )


def _enqueue_processing(event_ids: list[int]) -> None:
    for start in range(0, len(event_ids), PROCESS_CHUNK):
        chunk = event_ids[start : start + PROCESS_CHUNK]
        try:
            process_events.delay(chunk)
        except Exception:
            # The events are stored: the periodic sweep applies them if this fails
            # (a broker outage, or an error while applying inline in embedded mode).
            log.exception("applying %d stored events deferred to the sweep", len(chunk))


def _answer(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
