"""The source checkout the tests run from: child processes start there.

Only tests and benchmarks may know about the checkout; the program finds its
bundled files through `config.resources`.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
