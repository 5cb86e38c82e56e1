"""Fill in an HTML form as a browser without JavaScript would: every hidden field
(a CSRF token, say) is sent back as the page gave it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden inputs and such

    def data(self, **values: str | list[str]) -> dict[str, list[str]]:
        """The page's own fields, then `values` (a list gives one field per item)."""
        out: dict[str, list[str]] = {}
        for name, value in self.fields:
            if name not in values:
                out.setdefault(name, []).append(value)
        for name, given in values.items():
            out[name] = [given] if isinstance(given, str) else list(given)
        return out


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name") and a.get("type") == "hidden":
            self.forms[-1].fields.append((a["name"], a.get("value", "")))


def forms(page_url: str, html: str) -> list[Form]:
    """The page's forms, their actions made absolute."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(page_url, form.action or page_url)
    return parser.forms
