"""Properties of subject rendering: feed text is data, never template source."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.compose import CampaignError, render_subject
from campaigns.render import PostView
from tests.campaigns import sample_edition

SITE = sample_edition.site()
TEMPLATE_SYNTAX = st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "{{ 7*7 }}", "{% raw %}"])
title = st.lists(st.one_of(st.text(max_size=12), TEMPLATE_SYNTAX), min_size=1, max_size=8).map(
    "".join
)


@settings(max_examples=300)
@given(title=title)
def test_a_feed_title_is_the_subject_exactly_as_written(title: str) -> None:
    expected = " ".join(title.split())
    view = PostView("video", title, "https://video.example/w", "", "", None, None)
    assert render_subject(SITE, "New: {{ posts[0].title }}", [view]) == f"New: {expected}".strip()
    if expected:
        assert render_subject(SITE, "{{ lead.title }}", [view]) == expected
    else:  # a blank title makes a blank subject, which is refused rather than sent
        with pytest.raises(CampaignError, match="subject is empty"):
            render_subject(SITE, "{{ lead.title }}", [view])
