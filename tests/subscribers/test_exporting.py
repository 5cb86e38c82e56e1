from __future__ import annotations

import csv
import io

from config.site import SiteConfig
from db.engine import Database
from subscribers.exporting import EXPORT_COLUMNS, csv_chunks, write_csv
from subscribers.importing import import_csv


def test_an_export_lists_everyone_and_imports_back_unchanged(
    db: Database, site: SiteConfig
) -> None:
    source = "email,name,lists,country\n" + "".join(
        f"r{n}@example.org,Reader {n},videos;weekly,GB\n" for n in range(25)
    )
    import_csv(db, site, io.StringIO(source), confirmed=True)
    out = io.StringIO()
    assert write_csv(db, out) == 25
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[3]["email"] == "r3@example.org"
    assert rows[3]["lists"] == "videos;weekly"
    assert rows[3]["status"] == "confirmed"
    again = import_csv(db, site, io.StringIO(out.getvalue()))
    assert (again.added, again.existing, again.rejected) == (0, 25, 0)


def test_the_streamed_export_is_the_same_csv(db: Database, site: SiteConfig) -> None:
    import_csv(db, site, io.StringIO("email\na@example.org\nb@example.org\n"))
    whole = io.StringIO()
    write_csv(db, whole)
    assert "".join(csv_chunks(db)) == whole.getvalue()
