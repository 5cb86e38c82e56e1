"""Video cards keep the prose of a description and drop its promo boilerplate."""

from __future__ import annotations

from campaigns.summaries import MAX_PARAGRAPHS, clean_summary_html, clean_summary_text

DESCRIPTION_HTML = (
    "<p>We slow the drill down and notice each step.</p>"
    "<p>Then we try it <strong>out loud</strong>.</p>"
    "<p>Join the club for weekly exercises: https://club.example/</p>"
    "<p>This video is sponsored by Kelpcraft. Use code TIDE.</p>"
    "<p>Follow me on https://social.example/me</p>"
)
DESCRIPTION_TEXT = (
    "We slow the drill down and notice each step.\n\nThen we try it out loud.\n\n"
    "Join the club for weekly exercises: https://club.example/\n\n"
    "This video is sponsored by Kelpcraft. Use code TIDE."
)


def test_promo_paragraphs_and_bare_links_are_dropped() -> None:
    assert clean_summary_html(DESCRIPTION_HTML) == (
        "<p>We slow the drill down and notice each step.</p>"
        "<p>Then we try it <strong>out loud</strong>.</p>"
    )
    assert clean_summary_text(DESCRIPTION_TEXT) == (
        "We slow the drill down and notice each step.\n\nThen we try it out loud."
    )


def test_a_link_on_words_is_prose_but_a_bare_url_is_not() -> None:
    linked = '<p>Read <a href="https://notes.example/a">the notes</a>.</p>'
    assert clean_summary_html(linked) == linked
    assert clean_summary_html("<p>Notes at https://notes.example/a</p>") == ""


def test_long_descriptions_are_cut_to_a_few_paragraphs() -> None:
    many = "".join(f"<p>Paragraph {i}.</p>" for i in range(10))
    assert clean_summary_html(many).count("<p>") == MAX_PARAGRAPHS


def test_html_that_is_not_in_paragraphs_is_left_alone() -> None:
    assert clean_summary_html("Just a line<br>and another") == "Just a line<br>and another"
