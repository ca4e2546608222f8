"""Where a KB's records can be read and edited on the web, when that is known.

From `repo_url` (and the branch in `edit_uri`) of the MkDocs configuration, else from
the git remote `origin` of the repository holding the KB when it is a GitHub or GitLab
URL (https or git@). Read from local files only: `git config` and `git rev-parse` never
touch the network. Unknown stays unknown: the pages then show the path as plain text.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

_REMOTE = re.compile(
    r"^(?:https://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/|git@(?P<ssh_host>[^:]+):|ssh://git@(?P<ssh_url_host>[^/:]+)(?::\d+)?/)"
    r"(?P<path>[A-Za-z0-9_.~-]+(?:/[A-Za-z0-9_.~-]+)+?)(?:\.git)?/?$")
_SAFE_BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")


@dataclass(frozen=True)
class Repository:
    """A GitHub or GitLab project: its web address and the branch the records are read from."""

    web_url: str  # https://github.com/owner/name
    branch: str
    prefix: str = ""  # the KB project's folder inside the repository ("" at its top), with a trailing /

    @property
    def _separator(self) -> str:
        return "/-/" if "gitlab" in self.web_url.split("/")[2] else "/"

    def blob_url(self, path: str) -> str:
        """The page showing a file (path relative to the KB project, e.g. kb/reviews/X.yaml)."""
        return f"{self.web_url}{self._separator}blob/{self.branch}/{quote(self.prefix + path)}"

    def edit_url(self, path: str) -> str:
        """The web editor of a file."""
        return f"{self.web_url}{self._separator}edit/{self.branch}/{quote(self.prefix + path)}"


def web_url(remote: str) -> str | None:
    """https://host/owner/name for a GitHub or GitLab remote (https or git@), else None."""
    match = _REMOTE.match(remote.strip())
    if not match:
        return None
    host = (match["host"] or match["ssh_host"] or match["ssh_url_host"]).lower()
    if not (host in ("github.com", "gitlab.com") or host.startswith(("github.", "gitlab."))):
        return None
    return f"https://{host}/{match['path'].removesuffix('.git')}"


class _Tolerant(yaml.SafeLoader):
    """Reads mkdocs.yml, whose !ENV and !!python tags are none of our business here."""


_Tolerant.add_multi_constructor("", lambda loader, suffix, node: None)


def _configured(config_file: Path | None) -> tuple[str | None, str | None]:
    """repo_url and edit_uri of a MkDocs configuration (None where absent or unreadable)."""
    if config_file is None:
        return None, None
    try:
        data: Any = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_Tolerant)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    repo, edit = data.get("repo_url"), data.get("edit_uri")
    return (repo.rstrip("/") if isinstance(repo, str) and repo.startswith("https://") else None,
            edit if isinstance(edit, str) else None)


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def locate(kb_dir: Path, config_file: Path | None) -> Repository | None:
    """The repository of the KB at kb_dir, or None when it is not known (see the module docstring)."""
    configured, edit_uri = _configured(config_file)
    project = kb_dir.resolve().parent
    top = _git(project, "rev-parse", "--show-toplevel")
    prefix = ""
    if top:
        try:
            inside = project.relative_to(Path(top).resolve()).as_posix()
            prefix = "" if inside == "." else inside + "/"
        except ValueError:
            prefix = ""
    url = configured or web_url(_git(project, "config", "--get", "remote.origin.url") or "")
    if url is None:
        return None
    branch = None
    if edit_uri and configured:  # "edit/main/docs/" or "-/edit/main/docs/": the branch follows "edit"
        parts = [p for p in edit_uri.split("/") if p]
        if "edit" in parts and parts.index("edit") + 1 < len(parts):
            branch = parts[parts.index("edit") + 1]
    branch = branch or (_git(project, "symbolic-ref", "--short", "HEAD") if top else None) or "main"
    if not _SAFE_BRANCH.match(branch):
        return None
    return Repository(url, branch, prefix)
