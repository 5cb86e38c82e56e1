"""Feeds become posts: fetch, parse, sanitize, dedupe, store."""
