"""The site engines that turn the docs tree into HTML: MkDocs (the default) or Zensical.

Both read the same `mkdocs.yml` and the same generated Markdown. What the site needs from
the engine beyond that lives where both honour it: the edit button and the Pagefind body
marker in the theme overrides (generator/theme/partials/), not in MkDocs hooks, which
Zensical ignores without a word.

Zensical (Material's successor, https://zensical.org) is an optional extra:
`pip install -e '.[zensical]'`. It takes no docs_dir/site_dir overrides and wants both
folders inside the folder of its configuration file, so `kb build --engine zensical`
writes a small configuration beside the docs tree that inherits the project's file
(MkDocs' `INHERIT`, which Zensical implements) and replaces only what a build must set.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from generator.dates import source_date_epoch
from generator.diagnostics import Diagnostic, error, warning

ZENSICAL_HINT = ("install the optional extra with: pip install -e '.[zensical]' (Python 3.11 or newer), "
                 "or build with the default engine: --engine mkdocs")

# What Zensical prints on every successful build; anything else it says is a finding.
_ZENSICAL_CHATTER = ("Build started", "No issues found", "Build finished")


class TolerantLoader(yaml.SafeLoader):
    """Reads a MkDocs configuration for the few keys kb rewrites, whatever tags it uses
    (!ENV, !!python/name: ...): a tagged value is read as None, never run."""


TolerantLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def configured_custom_dir(config_file: Path) -> str | None:
    """theme.custom_dir of the configuration, as an absolute path (Zensical resolves it
    against the file that names it, which for kb's generated file is the build folder)."""
    try:
        data = yaml.load(config_file.read_text(encoding="utf-8"), Loader=TolerantLoader)  # noqa: S506 (tolerant SafeLoader)
    except (OSError, yaml.YAMLError):
        return None  # Zensical reads the file itself and reports what is wrong with it
    theme = data.get("theme") if isinstance(data, dict) else None
    custom_dir = theme.get("custom_dir") if isinstance(theme, dict) else None
    if not isinstance(custom_dir, str) or not custom_dir:
        return None
    return str((config_file.parent / custom_dir).resolve())


def zensical_config(config_file: Path, work: Path) -> Path:
    """Write work/mkdocs.yml: the project's configuration, with the docs tree and the site in `work`.

    Every key of the project's file is kept (inherited); replaced are docs_dir and site_dir
    (work/docs, work/site), theme.custom_dir (made absolute), and Zensical's own search,
    which it turns on by default and which would write a search.json of every page's text
    beside Pagefind's index: off, the site's search is Pagefind's (the Search page).
    """
    overrides: dict[str, Any] = {
        "INHERIT": str(config_file.resolve()),
        "docs_dir": "docs",
        "site_dir": "site",
        "plugins": [{"search": {"enabled": False}}],
    }
    custom_dir = configured_custom_dir(config_file)
    if custom_dir is not None:
        overrides["theme"] = {"custom_dir": custom_dir}
    target = work / "mkdocs.yml"
    target.write_text("# Written by kb build --engine zensical; see generator/engines.py.\n"
                      + yaml.safe_dump(overrides, sort_keys=False), encoding="utf-8")
    return target


def zensical_available() -> bool:
    """Whether the optional Zensical engine is installed."""
    return importlib.util.find_spec("zensical") is not None


def run_zensical(config_file: Path, docs_dir: Path, site_dir: Path, as_of: dt.date) -> list[Diagnostic]:
    """Build the site from a docs tree with Zensical; what it reports becomes findings.

    docs_dir and site_dir must be siblings in a build folder of their own (kb's temporary
    one): the generated configuration and Zensical's .cache/ are written beside them.
    """
    if not zensical_available():
        return [error(config_file, 1, 1, "site", "Zensical is not installed, so --engine zensical cannot build the site",
                      ZENSICAL_HINT)]
    work = docs_dir.parent
    if docs_dir != work / "docs" or site_dir != work / "site":
        raise ValueError("run_zensical wants the docs tree and the site as docs/ and site/ of one folder")
    generated = zensical_config(config_file, work)
    env = dict(os.environ)
    # Dates the engine prints (sitemap, footer) follow --as-of, as MkDocs' do.
    env["SOURCE_DATE_EPOCH"] = source_date_epoch(as_of)
    env["NO_COLOR"] = "1"
    try:
        done = subprocess.run([sys.executable, "-m", "zensical", "build", "--clean", "--config-file", str(generated)],
                              cwd=work, env=env, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        return [error(config_file, 1, 1, "site", f"Zensical could not be started: {exc}", ZENSICAL_HINT)]
    said = _issues(done.stdout + "\n" + done.stderr)
    if done.returncode != 0 or not (site_dir / "index.html").is_file():
        detail = " ".join(said[-10:]) or f"exit {done.returncode}"
        return [error(config_file, 1, 1, "site", f"Zensical could not build the site: {detail}")]
    return [warning(config_file, 1, 1, "site", f"Zensical: {issue}") for issue in said]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ISSUE = re.compile(r"^(?:Warning|Error|Info): (?P<message>.+)$")
_WHERE = re.compile(r"\[ (?P<file>[^\]]+?):(?P<line>\d+):(?P<col>\d+) \]")
_COUNT = re.compile(r"\d+ issues? found")


def _issues(output: str) -> list[str]:
    """Zensical's report as one line per issue: "message (docs file:line:col)".

    It draws each issue as a framed snippet of the Markdown, in colour whether or not
    NO_COLOR is set: the first line says what, a framed line says where, the rest is
    drawing. A line it prints outside such a frame (other than its progress chatter and
    the count of issues) is kept as it is.
    """
    issues: list[str] = []
    framed = located = False
    for raw in _ANSI.sub("", output).splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if line.startswith(_ZENSICAL_CHATTER) or _COUNT.fullmatch(line):
            framed = False
        elif issue := _ISSUE.match(line):
            issues.append(issue.group("message"))
            framed, located = True, False
        elif not framed:
            issues.append(line)
        elif not located and (where := _WHERE.search(line)):
            issues[-1] += f" ({where.group('file')}:{where.group('line')}:{where.group('col')})"
            located = True
    return issues
