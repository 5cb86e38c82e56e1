"""Template errors name the template file and the line at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.compose import render_subject
from campaigns.templating import TemplateRenderError, render
from tests.campaigns import sample_edition


def write(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    write(tmp_path, "email/broken/body.html", "<p>fine</p>\n<p>{% if x %}never closed</p>\n")
    with pytest.raises(TemplateRenderError, match=r"email/broken/body\.html:2"):
        render("email/broken/body.html", {"x": 1}, directory=tmp_path)


def test_undefined_name_in_an_included_block_names_that_block(tmp_path: Path) -> None:
    write(tmp_path, "email/base.html", "<body>\n{% block content %}{% endblock %}\n</body>\n")
    write(
        tmp_path,
        "email/news/body.html",
        '{% extends "email/base.html" %}\n{% block content %}\n'
        '{% include "email/blocks/card.html" %}\n{% endblock %}\n',
    )
    write(
        tmp_path, "email/blocks/card.html", "<h2>{{ post.title }}</h2>\n<p>{{ post.summry }}</p>\n"
    )
    with pytest.raises(TemplateRenderError) as caught:
        render("email/news/body.html", {"post": {"title": "T"}}, directory=tmp_path)
    assert "email/blocks/card.html:2" in str(caught.value)
    assert "summry" in str(caught.value)


def test_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(TemplateRenderError, match=r"email/nowhere/body\.html"):
        render("email/nowhere/body.html", {}, directory=tmp_path)


def test_a_bad_subject_template_is_reported_as_the_campaign_subject() -> None:
    with pytest.raises(
        TemplateRenderError, match=r"campaign subject:1: unexpected end of template"
    ):
        render_subject(sample_edition.site(), "New: {{ lead.title", [])


def test_html_parts_are_escaped_and_text_parts_are_not(tmp_path: Path) -> None:
    write(tmp_path, "x/body.html", "{{ title }}")
    write(tmp_path, "x/body.txt", "{{ title }}")
    context: dict[str, object] = {"title": "Tea & <toast>"}
    assert render("x/body.html", context, directory=tmp_path) == "Tea &amp; &lt;toast&gt;"
    assert render("x/body.txt", context, directory=tmp_path) == "Tea & <toast>"


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        ('{{ lipsum.__globals__.os.popen("id").read() }}', "'lipsum' is undefined"),
        ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ newsletter.__init__.__globals__ }}", "is unsafe"),
        ("{{ '{0.__class__}'.format(newsletter) }}", "is unsafe"),
        ("{{ newsletter.name|attr('__class__') }}", "No filter named 'attr'"),
        ("{% for i in range(99999) %}x{% endfor %}", "'range' is undefined"),
        ("{{ ('x' * 999) * 999 }}", "too large"),
        ("{{ 9 ** 9 ** 9 }}", "too large"),
        ("{{ ''|center(1000000000) }}", "No filter named 'center'"),
    ],
)
def test_a_subject_template_cannot_reach_python_or_exhaust_memory(
    source: str, refusal: str
) -> None:
    with pytest.raises(TemplateRenderError, match=r"^template campaign subject:1: ") as caught:
        render_subject(sample_edition.site(), source, [])
    assert refusal in str(caught.value)


def test_a_subject_template_still_does_what_subjects_need() -> None:
    site = sample_edition.site()
    source = (
        "{{ newsletter.name }}: {{ lead.title|upper if lead else 'news' }} (+{{ posts|length }})"
    )
    assert render_subject(site, source, []) == f"{site.newsletter.name}: news (+0)"
