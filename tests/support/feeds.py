"""Build small fictional RSS and YouTube-shaped feeds for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    guid: str
    title: str | None = "A title"
    link: str | None = None
    summary: str = ""
    published: str | None = "Tue, 24 Nov 2026 16:00:00 +0000"
    raw_title: bool = False  # put the title in as given (already XML), not escaped


def rss(items: Sequence[Item], *, title: str = "Fictional Blog", encoding: str = "utf-8") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://blog.example/</link>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<guid>{escape(item.guid)}</guid>")
        if item.title is not None:
            parts.append(f"<title>{item.title if item.raw_title else escape(item.title)}</title>")
        if item.link is not None:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.published is not None:
            parts.append(f"<pubDate>{item.published}</pubDate>")
        parts.append(f"<description>{escape(item.summary)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding)


@dataclass(frozen=True)
class Video:
    video_id: str
    title: str
    description: str
    published: str = "2026-11-24T16:00:00+00:00"


def youtube(videos: Sequence[Video], *, channel: str = "UCfictionalchannel000") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">',
        f"<id>yt:channel:{channel}</id><title>Fictional Channel</title>",
    ]
    for v in videos:
        parts.append(
            f"<entry><id>yt:video:{v.video_id}</id><yt:videoId>{v.video_id}</yt:videoId>"
            f"<title>{escape(v.title)}</title>"
            f'<link rel="alternate" href="https://www.youtube.com/watch?v={v.video_id}"/>'
            f"<published>{v.published}</published><updated>{v.published}</updated>"
            f"<media:group><media:title>{escape(v.title)}</media:title>"
            f'<media:thumbnail url="https://i.ytimg.example/vi/{v.video_id}/hqdefault.jpg" '
            'width="480" height="360"/>'
            f"<media:description>{escape(v.description)}</media:description>"
            "</media:group></entry>"
        )
    parts.append("</feed>")
    return "\n".join(parts).encode()
