"""The build cache: what the last `kb build` made, so that the next one redoes only what an edit changed.

After a build the cache folder holds the rendered pages with the key of what each was
rendered from (site.RenderCache, keyed by generator/fingerprint.py), the docs tree as
MkDocs read it, and MkDocs' output:

    .kb-cache/build/<key>/pages.marshal   doc -> (page key, text)
    .kb-cache/build/<key>/similar.marshal the ranking of similar reviews, by the digest of its inputs
    .kb-cache/build/<key>/docs/           the docs tree of the last build
    .kb-cache/build/<key>/site/           MkDocs' site built from it (no search index)
    .kb-cache/build/<key>/complete        the stamp: written last, removed first

<key> digests everything a page's HTML depends on besides its own docs file: this tool's
code, templates and theme overrides, every installed library's version (MkDocs, Material,
Python-Markdown, their plugins), the configuration file and the hook files it names, the
hand-written docs, the KB folder, the audience, the --as-of and --training-since days (the
sitemap's dates follow --as-of) and the engine. A change to any of them is a new key, so
the build starts cold in an empty folder; the two most recently used folders are kept.

A warm build re-renders only the pages whose key changed, writes only the docs files whose
text changed, removes the outputs of those files (and of removed ones), and runs MkDocs'
dirty build, which rebuilds exactly the pages without an output. That equals a cold build
because the site's navigation is fixed by the configuration's `nav` (without one, adding
or removing a page changes every page's navigation, and the build is cold) and because
MkDocs' templates for the whole site (sitemap.xml, 404.html) are rebuilt on every build.
The result is copied beside the published site, indexed by Pagefind and swapped in as a
cold build's is: the published site is never written in place, and the cached one never
leaves the cache.

The cache never vouches for what it cannot check: a build that MkDocs warned about, one
that failed, or one killed half-way leaves no stamp, so the next build is cold. The cache
is off (every build cold, as before it existed) with KB_CACHE=off, with the Zensical
engine (it builds its own way), when the current folder is inside the KB or the site, and
when the cache folder cannot be written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import marshal
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO

from generator.diagnostics import Diagnostic, error, warning
from generator.fingerprint import templates_digest
from generator.settings import Settings
from generator.similar import Similar

BUILD_CACHE = Path(".kb-cache") / "build"
KEEP = 2
"""Cache folders kept: the one in use and the one before it (switching audience and back stays warm)."""
_FORMAT = 1
_STAMP = "complete"


def cache_disabled() -> bool:
    """KB_CACHE=off (or 0, no, false) turns every cache of kb off, this one included."""
    return os.environ.get("KB_CACHE", "").lower() in ("off", "0", "no", "false")


@dataclass
class BuildStats:
    """How a build went, for the user's summary line and for tests.

    mode is "off" (no build cache: KB_CACHE=off, Zensical, cache folder not writable),
    "cold" (everything built, the cache written afresh) or "incremental".
    """

    mode: str = "off"
    reason: str = ""  # why a build with a cache was cold
    pages: int = 0  # generated pages
    rendered: int = 0  # pages rendered, not reused
    changed: int = 0  # docs files written (new or changed)
    removed: int = 0  # docs files removed


@dataclass(frozen=True)
class TreeChange:
    """The docs files a write added, changed (added ones too) or removed (paths relative to the docs tree)."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def inodes(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: site.write_tree replaces a file it changes."""
    found = {}
    for path in folder.rglob("*"):
        info = path.lstat()
        if path.is_file():
            found[path.relative_to(folder).as_posix()] = (info.st_ino, info.st_mtime_ns)
    return found


def tree_change(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> TreeChange:
    """What site.write_tree did, from the files' inodes before and after (it replaces a changed file)."""
    return TreeChange(added=tuple(sorted(set(after) - set(before))),
                      changed=tuple(sorted(doc for doc, sig in after.items() if before.get(doc) != sig)),
                      removed=tuple(sorted(set(before) - set(after))))


# -- the key ---------------------------------------------------------------------------

def _installed() -> list[str]:
    """Every installed distribution with its version: MkDocs, Material, Markdown, plugins, this tool."""
    names = set()
    for dist in metadata.distributions():
        try:
            names.add(f"{dist.metadata['Name']}=={dist.version}")
        except Exception:  # noqa: BLE001 - a broken distribution only makes the key coarser
            continue
    return sorted(names)


def _config_paths(config_file: Path) -> list[Path]:
    """Files and folders the configuration names that decide the HTML: hooks and the theme's custom_dir."""
    import yaml

    from generator.engines import TolerantLoader, configured_custom_dir

    try:
        data = yaml.load(config_file.read_text(encoding="utf-8"), Loader=TolerantLoader)  # noqa: S506 (tolerant SafeLoader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        data = None
    hooks = data.get("hooks") if isinstance(data, dict) else None
    paths = [config_file.parent / hook for hook in hooks if isinstance(hook, str)] if isinstance(hooks, list) else []
    custom_dir = configured_custom_dir(config_file)
    return paths + ([Path(custom_dir)] if custom_dir else [])


def cache_key(settings: Settings, config_file: Path, handwritten: dict[str, Path]) -> str:
    """The digest of everything the site depends on besides the generated docs files."""
    from generator.cache import tool_fingerprint
    from generator.render import TEMPLATES

    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    part("format", str(_FORMAT).encode())
    part("tool", tool_fingerprint().encode())
    part("installed", "\n".join(_installed()).encode())
    part("templates", templates_digest([TEMPLATES, Path(__file__).parent / "theme"]))
    part("config", f"{config_file}\n".encode() + config_file.read_bytes())
    for path in _config_paths(config_file):
        part("config-path", str(path).encode())
        part("config-file", path.read_bytes() if path.is_file() else templates_digest([path]))
    for doc, path in sorted(handwritten.items()):
        part("handwritten", doc.encode() + b"\0" + path.read_bytes())
    run = [str(settings.kb_dir.resolve()), settings.audience, settings.as_of.isoformat(),
           settings.training_cutoff.isoformat(), settings.engine]
    part("run", "\0".join(run).encode())
    return digest.hexdigest()[:24]


# -- the cache folder -----------------------------------------------------------------

class BuildCache:
    """One cache folder: the docs tree, the site and the rendered pages of the last build with this key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.docs = folder / "docs"
        self.site = folder / "site"
        self.pages_file = folder / "pages.marshal"
        self.ranking_file = folder / "similar.marshal"
        self.stamp = folder / _STAMP
        self.warm = False  # the last build with this key completed: its pages and outputs are good
        self.reason = "no earlier build"
        self._broken = False  # its pages could not be read: nothing in the folder is trusted
        self._lock: IO[bytes] | None = None

    @classmethod
    def open(cls, settings: Settings, config_file: Path, handwritten: dict[str, Path]) -> BuildCache | None:
        """The cache of this build (read, not yet written: see begin); None when the build goes without one."""
        if cache_disabled() or settings.engine != "mkdocs":
            return None
        cwd = Path.cwd().resolve()
        for folder in (settings.kb_dir.resolve(), settings.site_dir.resolve()):
            if cwd == folder or folder in cwd.parents:
                return None  # the cache never writes into the KB or the site
        try:
            store = cls(cwd / BUILD_CACHE / cache_key(settings, config_file, handwritten))
        except OSError:
            return None
        store._check()
        return store

    def lock(self) -> bool:
        """Hold the folder for this build (until close); False when another build holds it.
        Taken before the docs are written in a forked process, which shares the lock."""
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)  # the lock file is beside the folder
        except OSError:
            return False
        return self._lock is not None or self._acquire()

    def _acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as kb did before the cache (one build at a time)
            return True
        lock = open(self.folder.parent / f".{self.folder.name}.lock", "ab")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return False
        self._lock = lock
        return True

    def close(self) -> None:
        """Let another build use the folder."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _check(self) -> None:
        self.warm = False
        try:
            stamp = self.stamp.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            self.reason = "no earlier build" if not self.docs.exists() else "the last build did not finish"
            return
        if stamp != f"{_FORMAT} {self.folder.name}\n":
            self.reason = "the cache is of another format"
            return
        self.warm = self.docs.is_dir() and self.site.is_dir()
        if not self.warm:
            self.reason = "the cache is incomplete"

    def pages(self) -> dict[str, tuple[str, str]]:
        """The rendered pages of the last build (doc -> (key, text)); empty when the cache is cold."""
        if not self.warm:
            return {}
        try:
            pages = marshal.loads(self.pages_file.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pages = None
        if not isinstance(pages, dict) or not all(
                isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], str)
                for v in pages.values()):
            self.warm, self._broken, self.reason = False, True, "the cached pages could not be read"
            return {}
        return pages

    def ranking(self) -> tuple[str, dict[str, tuple[Similar, ...]]] | None:
        """The last build's ranking of similar reviews with the digest of what it read, if readable."""
        if not self.warm:
            return None
        try:
            key, rows = marshal.loads(self.ranking_file.read_bytes())
            return key, {rid: tuple(Similar(*row) for row in found) for rid, found in rows.items()}
        except (OSError, ValueError, EOFError, TypeError, AttributeError):
            return None  # computed again: the ranking follows from the KB alone

    def begin(self) -> bool:
        """Lock the folder for this build and make it ready to be written: the stamp goes first,
        a cold folder is emptied, older folders beyond KEEP are removed. False when the folder
        cannot be written or another build holds it (this build then goes without the cache).

        The pages read before are good whatever happened since: a page's text follows from its key.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self._lock is None and not self._acquire():
                return False
            if not self._broken:
                self._check()
            self.stamp.unlink(missing_ok=True)
            if not self.warm:
                for child in self.folder.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            os.utime(self.folder)
            self._prune()
            return True
        except OSError:
            self.close()
            return False

    def _prune(self) -> None:
        siblings = [p for p in self.folder.parent.iterdir() if p.is_dir() and p != self.folder]
        siblings.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in siblings[KEEP - 1:]:
            other = BuildCache(old)
            if other._acquire():  # never pull a folder from under a running build
                shutil.rmtree(old, ignore_errors=True)
                old.with_name(f".{old.name}.lock").unlink(missing_ok=True)
                other.close()

    def keep(self, pages: dict[str, tuple[str, str]],
             ranking: tuple[str, dict[str, tuple[Similar, ...]]] | None = None) -> None:
        """Keep the rendered pages (and the ranking of similar reviews); not vouched for until vouch()."""
        tmp = self.pages_file.with_name(f".{self.pages_file.name}.tmp")
        tmp.write_bytes(marshal.dumps(pages))
        os.replace(tmp, self.pages_file)
        self.ranking_file.unlink(missing_ok=True)
        if ranking is not None:
            key, found = ranking
            rows = {rid: [dataclasses.astuple(s) for s in kept] for rid, kept in found.items()}
            tmp = self.ranking_file.with_name(f".{self.ranking_file.name}.tmp")
            tmp.write_bytes(marshal.dumps((key, rows)))
            os.replace(tmp, self.ranking_file)

    def vouch(self) -> None:
        """The build finished without a warning: its docs, site and pages are good (the stamp, written last)."""
        tmp = self.stamp.with_name(f".{_STAMP}.tmp")
        tmp.write_text(f"{_FORMAT} {self.folder.name}\n", encoding="utf-8")
        os.replace(tmp, self.stamp)


# -- the incremental MkDocs build ---------------------------------------------------------

def run_mkdocs_incremental(config_file: Path, docs_dir: Path, site_dir: Path, as_of: dt.date, *,
                           change: TreeChange | None, handwritten: dict[str, Path]) -> tuple[list[Diagnostic], bool]:
    """Build the site in site_dir from docs_dir: dirty when `change` says what changed since
    site_dir was built (and a dirty build equals a clean one), else clean. Returns MkDocs'
    findings and whether the build was dirty."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException
    from mkdocs.structure.files import File

    from generator.preview import NoDirtyWarning
    from generator.site import build_environment

    with build_environment(as_of) as logs:
        logs.addFilter(NoDirtyWarning())
        try:
            config = load_config(str(config_file), docs_dir=str(docs_dir), site_dir=str(site_dir))
            dirty = change is not None and (bool(config.nav) or not (_pages(change.added) or _pages(change.removed)))
            if dirty:
                assert change is not None
                # A hand-written page may link to a removed page: rebuilt, MkDocs warns as a cold build would.
                again = [doc for doc in handwritten if doc.endswith(".md")] if change.removed else []
                for doc in (*change.changed, *change.removed, *again):
                    output = Path(File(doc, str(docs_dir), str(site_dir), config.use_directory_urls).abs_dest_path)
                    output.unlink(missing_ok=True)
                    _remove_empty_parents(output.parent, site_dir)
            build(config, dirty=dirty)
        except (MkDocsException, OSError) as exc:
            return [error(config_file, 1, 1, "site", f"MkDocs could not build the site: {exc}")], False
    return [warning(config_file, 1, 1, "site", f"MkDocs: {' '.join(message.split())}") for message in logs.messages], dirty


def _pages(docs: tuple[str, ...]) -> bool:
    """Whether any of these docs files is a page (not an asset), as the navigation would list it."""
    return any(doc.endswith(".md") for doc in docs)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def copy_site(source: Path, target: Path) -> None:
    """A copy of the cached site to publish (copies, not links: MkDocs rewrites its files in place)."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
