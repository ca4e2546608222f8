"""What one run of the tool needs to know, decided once by the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

AUDIENCES = ("internal", "public")
TRACKER_AUDIENCES = ("all", *AUDIENCES)
"""Whose view `kb actions` lists: `all` (its default) is every review the files hold, TLP:RED
ones included (the user running it holds those files); internal and public as on the site."""
ENGINES = ("mkdocs", "zensical")  # what turns the docs tree into the site (generator/engines.py)


@dataclass(frozen=True)
class Settings:
    """Options shared by the commands: where the KB is, the day judged on, how strict."""

    kb_dir: Path
    as_of: dt.date
    strict: bool = False
    audience: str = "internal"
    site_dir: Path = Path("site")
    training_since: dt.date | None = None
    config_file: Path | None = None
    engine: str = "mkdocs"  # one of ENGINES

    @property
    def training_cutoff(self) -> dt.date:
        """The day "new since" is counted from: --training-since, or 90 days before as-of."""
        return self.training_since or (self.as_of - dt.timedelta(days=90))
