from __future__ import annotations

import pytest

from config.runtime import Runtime
from tests.support.sendgrid_events import Signer, with_webhook_key


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def rt(runtime: Runtime, signer: Signer) -> Runtime:
    """The test runtime with the signer's webhook key (the `runtime` fixture resets it)."""
    return with_webhook_key(runtime, signer)
