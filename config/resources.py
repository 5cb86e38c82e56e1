"""Where the files Broadsheet reads at run time live: inside its installed packages.

The wheel carries the templates, the example site file, the sample feeds, the
migrations and any static files as package data (pyproject.toml globs them), so an
installed Broadsheet finds them next to its own code whatever the working
directory. Invariant: nothing here points into a source checkout or the working
directory, so an editable install and a wheel behave alike. What the program
writes goes under DATA_DIR instead (config.settings).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled(package: str, *parts: str) -> Path:
    """A file or folder shipped inside `package` (wheels install as plain files, never zipped)."""
    return Path(str(files(package))).joinpath(*parts)


SITE_EXAMPLE = bundled("config", "site.example.toml")
TEMPLATES_DIR = bundled("templates")
SAMPLES_DIR = bundled("content", "samples")
