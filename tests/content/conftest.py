"""Fixtures for content tests: a feed server on loopback and a site that may reach it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from config.site import FeedConfig, SiteConfig
from content.fetch import make_client
from tests.support.feed_server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as c:
        yield c


def site_with_feeds(site: SiteConfig, *feeds: FeedConfig) -> SiteConfig:
    """The example site, allowed to fetch from loopback, with these feeds."""
    newsletter = site.newsletter.model_copy(update={"allow_private_hosts": True})
    return site.model_copy(update={"newsletter": newsletter, "feeds": tuple(feeds)})
