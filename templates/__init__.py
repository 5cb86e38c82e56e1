"""Jinja templates for emails (`email/`) and public pages (`web/`).

A package only so that the wheel ships this folder as package data and the
installed program finds it through `config.resources`, never through a checkout.
"""
