"""Publish: write the docs tree, run MkDocs, index it for search, swap the site into place.

The generated pages are plain Markdown in a docs tree beside the hand-written pages;
MkDocs (or Zensical, which reads the same mkdocs.yml) turns the tree into the site, and
Pagefind indexes the finished HTML for the search page. A build happens in a temporary
folder next to the site folder and replaces the previous site only when everything
succeeded, so a failed or interrupted build leaves the old site complete.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import importlib.util
import logging
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from generator import audience, feed, similar, urls
from generator.dates import source_date_epoch
from generator.diagnostics import Diagnostic, Result, Severity, error, sorted_diagnostics, warning
from generator.cache import quiet_gc
from generator.fingerprint import Fingerprints, templates_digest
from generator.incremental import BuildCache, BuildStats, TreeChange, copy_site, inodes, run_mkdocs_incremental, tree_change
from generator.index import KnowledgeBase, validate
from generator.load import discover_reviews
from generator.pages import PageSpec, front_matter, plan, searchable, source_path
from generator.repository import Repository, locate
from generator.render import PARALLEL_MIN_PAGES, TEMPLATES, Renderer, doc_for, render_all, use_bytecode_cache
from generator.procedure import ID_PATTERN
from generator.charts import bar_chart, column_chart
from generator.settings import Settings
from generator.tags import tag_url

DEFAULT_CONFIG = Path(__file__).parent / "mkdocs.default.yml"
PAGE_HELPERS = {"bar_chart": bar_chart, "column_chart": column_chart, "tag_url": tag_url}
"""Functions the page templates call besides the filters (pure: the same arguments, the same text)."""
THEME_OVERRIDES = Path(__file__).parent / "theme"
"""Material partials that print every title as text; a configuration that does not name
them as its custom_dir gets them anyway (after its own custom_dir, before Material)."""
ASSETS = TEMPLATES / "assets"
# Folders that are never replaced by a site: a mistaken --site-dir must not delete a project.
_PROJECT_MARKERS = (".git", "mkdocs.yml", "pyproject.toml", "reviews", "taxonomy.yaml")


class SiteError(Exception):
    """The site could not be built; the message says why and what to do."""


def find_config(settings: Settings) -> Path:
    """The MkDocs configuration: --config, ./mkdocs.yml, the one beside the KB, else built in."""
    candidates = [settings.config_file] if settings.config_file else [
        Path("mkdocs.yml"), settings.kb_dir.resolve().parent / "mkdocs.yml"]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    if settings.config_file:
        raise SiteError(f"{settings.config_file}: no such MkDocs configuration file")
    return DEFAULT_CONFIG


def handwritten_dir(config_file: Path) -> Path | None:
    """Hand-written pages live in docs/ beside the configuration (none for the built-in one)."""
    if config_file == DEFAULT_CONFIG:
        return None
    folder = config_file.parent / "docs"
    return folder if folder.is_dir() else None


class RenderCache:
    """The pages rendered by the previous pass, with the fingerprint of what they were
    rendered from; `kb serve` keeps one so an edit re-renders only the pages it touched."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, str]] = {}  # doc -> (fingerprint, text)
        self.rendered = 0  # pages rendered (not reused) by the last pass
        self.renderer: Renderer | None = None  # kept, so templates are compiled once
        # The last ranking of similar reviews, by the digest of all it read (similar.digest):
        # most edits (a summary, an action's progress) leave every ranking as it was.
        self.ranking: tuple[str, dict[str, tuple[similar.Similar, ...]]] | None = None

    def similar(self, kb: KnowledgeBase) -> dict[str, tuple[similar.Similar, ...]]:
        """similar.compute(kb), reused when nothing it reads changed since the last pass."""
        found = similar.sources(kb)
        key = similar.digest(found)
        if self.ranking is None or self.ranking[0] != key:
            self.ranking = (key, similar.rank(found))
        return self.ranking[1]

    def render(self, pages: list[PageSpec], *, override_dir: Path | None, helpers: dict[str, Any],
               reviews: dict[str, str]) -> list[str]:
        """The text of every page (front matter apart), rendering only those whose key changed."""
        if self.renderer is None:
            self.renderer = Renderer(override_dir=override_dir, globals_=helpers)
        self.renderer.reviews = reviews
        fingerprints = Fingerprints(templates=templates_digest([p for p in (override_dir, TEMPLATES) if p]),
                                    reviews=reviews)
        fresh: dict[str, tuple[str, str]] = {}
        stale, keys = [], {}
        for page in pages:
            keys[page.doc] = fingerprints.page(page.template, page.doc, page.context)
            previous = self.pages.get(page.doc)
            if previous is not None and previous[0] == keys[page.doc]:
                fresh[page.doc] = previous
            else:
                stale.append(page)
        jobs = [(page.template, page.context, page.doc) for page in stale]
        # The first pass renders everything, on every core where it may; after an edit, a
        # few pages, with the templates compiled already.
        texts = render_all(jobs, override_dir=override_dir, globals_=helpers, reviews=reviews) if len(jobs) >= PARALLEL_MIN_PAGES else [
            self.renderer.render(template, context, here=here) for template, context, here in jobs]
        fresh.update((page.doc, (keys[page.doc], text)) for page, text in zip(stale, texts))
        self.pages, self.rendered = fresh, len(stale)
        return [fresh[page.doc][1] for page in pages]


def _repository(settings: Settings) -> Repository | None:
    """The KB's repository on the web, for the edit button and the "Source" link (see repository.py)."""
    try:
        config = find_config(settings)
    except SiteError:
        config = None
    return locate(settings.kb_dir, None if config == DEFAULT_CONFIG else config)


Stage = Callable[[str], None]
"""Told what a build does next ("rendering 1,213 pages"), so a long build can show progress."""


def _quiet(_: str) -> None:
    pass


def render_pages(kb: KnowledgeBase, settings: Settings, *, override_dir: Path | None = None,
                 cache: RenderCache | None = None, stage: Stage = _quiet) -> tuple[dict[str, str], list[Diagnostic]]:
    """Every generated docs file (path -> text) for the audience's view of the KB."""
    view = audience.view(kb, settings.audience)
    pages, problems = plan(view, settings, repo=_repository(settings),
                           ranked=cache.similar if cache is not None else similar.compute)
    if problems:
        return {}, problems
    stage(f"rendering {len(pages):,} pages")
    helpers = PAGE_HELPERS
    reviews = {**{rid: "published" for rid in view.by_id}, **{rid: "restricted" for rid in view.restricted}}
    if cache is not None:  # kb serve: after an edit few pages change
        texts = cache.render(pages, override_dir=override_dir, helpers=helpers, reviews=reviews)
    else:
        texts = render_all([(page.template, page.context, page.doc) for page in pages],
                           override_dir=override_dir, globals_=helpers, reviews=reviews)
    files = {page.doc: front_matter(page, settings) + text for page, text in zip(pages, texts)}
    for asset in sorted(ASSETS.iterdir()):
        files[f"assets/{asset.name}"] = asset.read_text(encoding="utf-8")
    # Not Markdown: MkDocs copies it as it is, so kb build and kb serve both publish it.
    files[urls.FEED] = feed.atom(view, site=feed_site(find_config(settings)), as_of=settings.as_of)
    return files, []


class _ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml for two plain keys; MkDocs' own tags (!ENV, !!python/name) read as None."""


_ConfigLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def feed_site(config_file: Path) -> feed.FeedSite:
    """The site's name and public URL (site_url) as the feed names them."""
    try:
        config = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_ConfigLoader)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        config = None
    config = config if isinstance(config, dict) else {}
    name = config["site_name"] if isinstance(config.get("site_name"), str) else "Post-incident reviews"
    url = config.get("site_url") if isinstance(config.get("site_url"), str) and config.get("site_url") else None
    return feed.FeedSite(name, url if url is None or url.endswith("/") else url + "/")


def _handwritten_files(folder: Path | None) -> dict[str, Path]:
    if folder is None:
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            found[path.relative_to(folder).as_posix()] = path
    return found


@dataclass(frozen=True)
class Written:
    """What writing a docs tree did: files written (new or changed) and files removed."""

    changed: int
    removed: int


def write_tree(target: Path, generated: dict[str, str], handwritten: dict[str, Path]) -> Written:
    """Make `target` hold exactly these files, writing only those whose content changed.

    Files in target that are in neither set are removed, so the tree stays reproducible.
    """
    target.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {doc: text.encode("utf-8") for doc, text in generated.items()}
    for doc, path in handwritten.items():
        wanted[doc] = path.read_bytes()
    changed = sum(write_file(target / doc, content) for doc, content in wanted.items())
    removed = 0
    for path in sorted(target.rglob("*"), reverse=True):
        rel = path.relative_to(target).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
            removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return Written(changed, removed)


def write_file(path: Path, content: bytes) -> bool:
    """Write the file unless it already holds exactly this; readers never see half a file."""
    try:
        if path.read_bytes() == content:
            return False
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return True


def _collisions(generated: dict[str, str], handwritten: dict[str, Path]) -> list[Diagnostic]:
    return [error(handwritten[doc], 1, 1, "page-collision",
                  f"a generated page has the same path ({doc}); generated pages never replace hand-written ones",
                  "rename or move the hand-written page")
            for doc in sorted(set(generated) & set(handwritten))]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def build_environment(as_of: dt.date) -> Iterator[_Collect]:
    """MkDocs logs collected as findings, and a build date fixed to --as-of (reproducible)."""
    collector = _Collect()
    logger = logging.getLogger("mkdocs")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(as_of)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def run_mkdocs(config_file: Path, docs_dir: Path, site_dir: Path, as_of: dt.date) -> list[Diagnostic]:
    """Build the site from a docs tree; MkDocs warnings become findings."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    with build_environment(as_of) as logs:
        try:
            config = load_config(str(config_file), docs_dir=str(docs_dir), site_dir=str(site_dir))
            _use_theme_overrides(config)
            build(config)
        except MkDocsException as exc:  # an OSError (disk full, no permission) goes up to build_site
            return [error(config_file, 1, 1, "site", f"MkDocs could not build the site: {exc}")]
    return [warning(config_file, 1, 1, "site", f"MkDocs: {' '.join(message.split())}") for message in logs.messages]


def _use_theme_overrides(config: Any) -> None:
    dirs = config.theme.dirs
    if any(Path(d).resolve() == THEME_OVERRIDES.resolve() for d in dirs):
        return
    dirs.insert(1 if config.theme.custom_dir else 0, str(THEME_OVERRIDES))


PAGEFIND_HINT = ("install it with: pip install 'pagefind[bin]' (a dependency of kb, so pip install -e . "
                 "in the project does it too)")


def pagefind_command(site_dir: Path, output: Path | None = None) -> list[str]:
    """Pagefind as `kb build` runs it: the binary from the `pagefind[bin]` wheel, never a download.

    Its bundle goes to site_dir/pagefind/ (or `output`). Only what the pages mark with data-pagefind-body
    (the theme override generator/theme/partials/content.html) is indexed; the permalink marks of headings are left out of titles.
    """
    where = ["--output-path", str(output)] if output is not None else []
    return [sys.executable, "-m", "pagefind", "--site", str(site_dir), *where, "--quiet", "--exclude-selectors", ".headerlink"]


def _failure_detail(stderr: str) -> str:
    """What Pagefind said, on one line: its distinct error lines, or a traceback's last line."""
    lines = list(dict.fromkeys(line.strip() for line in stderr.splitlines() if line.strip()))
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]
    return " ".join(lines[-10:]) or "no message"


def run_pagefind(site_dir: Path, config_file: Path, skip: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """Build the search index of a finished site; a missing or failing Pagefind is one error.

    `skip` names HTML files (relative to the site) that have nothing to index (generated
    pages marked `search: exclude`): Pagefind reads the site through a tree of hard links
    to the other pages, which spares it parsing the lists, a third of its time. The index
    is the same, since a page without data-pagefind-body gives it nothing.
    """
    if importlib.util.find_spec("pagefind") is None:
        return [error(config_file, 1, 1, "site", "Pagefind is not installed, so the search index cannot be built",
                      PAGEFIND_HINT)]
    # Pagefind also reads PAGEFIND_* variables and a pagefind.yml in its working folder; the
    # index must follow from the site alone (and the search page expects pagefind/), so
    # neither reaches it. PAGEFIND_BINARY_PATH only says where the binary is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_") or k == "PAGEFIND_BINARY_PATH"}
    source = _linked_pages(site_dir, skip) if skip else None
    command = pagefind_command(source, site_dir / "pagefind") if source else pagefind_command(site_dir)
    try:
        done = subprocess.run(command, cwd=site_dir.parent, env=env, capture_output=True,
                              text=True, errors="replace", check=False)
    except OSError as exc:
        return [error(config_file, 1, 1, "site", f"Pagefind could not be started: {exc}", PAGEFIND_HINT)]
    finally:
        if source is not None:
            shutil.rmtree(source, ignore_errors=True)
    if done.returncode != 0:
        return [error(config_file, 1, 1, "site",
                      f"Pagefind could not index the site (exit {done.returncode}): {_failure_detail(done.stderr or done.stdout)}",
                      PAGEFIND_HINT)]
    return []


def _linked_pages(site_dir: Path, skip: frozenset[str]) -> Path | None:
    """A folder beside the site with a hard link to each of its HTML files but those in `skip`
    (same relative paths, so the index's URLs are the site's); None when links cannot be made."""
    folder = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.search-", dir=site_dir.parent))
    try:
        for path in sorted(site_dir.rglob("*.html")):
            relative = path.relative_to(site_dir).as_posix()
            if relative not in skip and path.is_file():
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
    except OSError:  # another file system, or no hard links: Pagefind reads the whole site
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return folder


def unsearchable(generated: dict[str, str]) -> frozenset[str]:
    """The HTML files of the generated pages left out of search (x/index.md is built as x/index.html)."""
    return frozenset(doc[:-3] + ".html" for doc, text in generated.items()
                     if (doc == "index.md" or doc.endswith("/index.md")) and not searchable(text))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def configured_docs_dir(config_file: Path) -> Path | None:
    """The docs_dir a configuration names (MkDocs' default: docs/ beside it)."""
    if config_file == DEFAULT_CONFIG:
        return None
    try:
        text = config_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^docs_dir:[ \t]*['\"]?([^'\"#\n]+?)['\"]?[ \t]*(?:#.*)?$", text, re.M)
    return (config_file.parent / (match.group(1) if match else "docs")).resolve()


def check_site_dir(site_dir: Path, *, kb_dir: Path, config_file: Path) -> None:
    """Refuse a --site-dir that is, holds or lies inside an input of the build.

    Building replaces the whole folder: a site folder that is the KB, the docs_dir or the
    hand-written pages (or inside them, or holding them) would delete what the site is
    built from. The configuration's folder (the project) may hold the site (site/ beside
    mkdocs.yml is the default) but may not be it or lie inside it.
    """
    site = site_dir.resolve()
    inputs = [("the knowledge base", kb_dir.resolve())]
    docs = configured_docs_dir(config_file)
    if docs is not None:
        inputs.append(("the MkDocs docs_dir (the hand-written pages)", docs))
    pages = handwritten_dir(config_file)
    if pages is not None:
        inputs.append(("the hand-written pages", pages.resolve()))
    inputs.append(("kb's own package (its templates and theme)", Path(__file__).parent.resolve()))
    for what, folder in inputs:
        if _inside(site, folder) or _inside(folder, site):
            relation = "is" if site == folder else ("lies inside" if _inside(site, folder) else "contains")
            raise SiteError(f"--site-dir {site_dir} {relation} {what} ({folder}); a build replaces the whole site "
                            "folder, so it must be a folder of its own, e.g. --site-dir site")
    holders = [("the folder of the configuration", config_file.parent.resolve()), ("the current folder", Path.cwd().resolve())]
    if config_file == DEFAULT_CONFIG:
        holders = holders[1:]
    for what, folder in holders:
        if _inside(folder, site):
            relation = "is" if site == folder else "contains"
            raise SiteError(f"--site-dir {site_dir} {relation} {what} ({folder}); choose a folder of its own, "
                            "e.g. --site-dir site")
    if site.is_dir() and any((site / marker).exists() for marker in _PROJECT_MARKERS):
        raise SiteError(f"--site-dir {site_dir} looks like a project folder, not a built site; refusing to replace it")
    if site.exists() and not site.is_dir():
        raise SiteError(f"--site-dir {site_dir} is a file, not a folder")


# -- the swap ----------------------------------------------------------------------------
# A build happens in .<site>.build-<pid>-XXXX beside the site folder. When it succeeded, the
# finished site and the old one are exchanged with renameat2(RENAME_EXCHANGE): one step, so
# at every instant the site folder holds one complete site (old, then new). Where the kernel
# or file system refuses the exchange, two renames are the fallback (the old site moves to
# .<site>.old-<pid>-XXXX/site, then the new one in); a build killed between them leaves no
# site folder for that moment, and the next build puts the old site back first. Site folders
# stay real folders (a symlink flip would turn them into links, which breaks deployments
# that copy or serve the folder itself).

AT_FDCWD = -100
RENAME_EXCHANGE = 2
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276, "riscv64": 276, "i686": 353, "i386": 353, "armv7l": 382,
                  "ppc64le": 357, "s390x": 347}


def _renameat2() -> Callable[[bytes, bytes, int], int] | None:
    """renameat2 from libc (glibc >= 2.28), else through syscall(); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    function = getattr(libc, "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b, flags: function(AT_FDCWD, a, AT_FDCWD, b, flags)
    number = _SYS_RENAMEAT2.get(platform.machine())
    if number is None:
        return None
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    return lambda a, b, flags: syscall(ctypes.c_long(number), ctypes.c_int(AT_FDCWD), ctypes.c_char_p(a),
                                       ctypes.c_int(AT_FDCWD), ctypes.c_char_p(b), ctypes.c_uint(flags))


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step; False where the system cannot (then nothing changed)."""
    call = _renameat2()
    if call is None:
        return False
    if call(os.fsencode(a), os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False  # the file system or kernel has no exchange (or a sandbox forbids it)
    raise OSError(code, os.strerror(code), str(b))


def _step(name: str) -> None:
    """A point between two steps of publishing. KB_TEST_KILL_AT=<name> kills the build
    there (SIGKILL, as a crash or an OOM kill would): the kill tests stop at each one."""
    if os.environ.get("KB_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _owner_alive(name: str) -> bool:
    """Whether the build that made a .site.build-<pid>-... folder still runs."""
    match = re.match(r"\.[^/]*\.(?:build|old)-(\d+)-", name)
    if match is None:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(site_dir: Path) -> None:
    """Clean up after killed builds: put back a site the fallback swap had moved aside,
    and remove the work folders (.site.build-*, .site.old-*) no running build owns."""
    parent = site_dir.parent
    if not parent.is_dir():
        return
    leftovers = sorted(p for p in parent.iterdir()
                       if p.name.startswith((f".{site_dir.name}.build-", f".{site_dir.name}.old-"))
                       and p.is_dir() and not p.is_symlink() and not _owner_alive(p.name))
    for folder in leftovers:
        if not site_dir.exists() and folder.name.startswith(f".{site_dir.name}.old-") and (folder / "site").is_dir():
            os.rename(folder / "site", site_dir)
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)


def swap_in(new: Path, site_dir: Path) -> None:
    """Replace site_dir with the finished build `new` (same file system): one exchange,
    or where the system has none, two renames."""
    _step("before-swap")
    if not site_dir.exists():
        os.rename(new, site_dir)
        _step("swapped")
        return
    if exchange(new, site_dir):
        _step("exchanged")  # site_dir: the new site; `new`: the old one
        shutil.rmtree(new, ignore_errors=True)
        _step("swapped")
        return
    old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.old-{os.getpid()}-", dir=site_dir.parent))
    os.rename(site_dir, old / "site")
    _step("moved-aside")
    os.rename(new, site_dir)
    _step("moved-in")
    shutil.rmtree(old, ignore_errors=True)
    _step("swapped")


@dataclass(frozen=True)
class DocsTree:
    """What a docs tree holds: generated pages (path -> text) and hand-written files."""

    generated: dict[str, str]
    handwritten: dict[str, Path]

    def write(self, target: Path) -> Written:
        return write_tree(target, self.generated, self.handwritten)


def prepare_docs(settings: Settings, cache: RenderCache | None = None,
                 stage: Stage = _quiet) -> tuple[Result[KnowledgeBase], DocsTree | None]:
    """Validate and render everything in memory; no tree when there is any error."""
    records = len(discover_reviews(settings.kb_dir)[0])
    stage(f"validating {records:,} record{'' if records == 1 else 's'}")
    checked = validate(settings.kb_dir, as_of=settings.as_of)
    if checked.failed(strict=settings.strict):
        return checked, None
    return _render_tree(checked, settings, cache, stage)


def _render_tree(checked: Result[KnowledgeBase], settings: Settings, cache: RenderCache | None,
                 stage: Stage = _quiet) -> tuple[Result[KnowledgeBase], DocsTree | None]:
    with quiet_gc():  # many small objects, no garbage cycles: see cache.quiet_gc
        generated, problems = render_pages(checked.value, settings, cache=cache, stage=stage)
    handwritten = _handwritten_files(handwritten_dir(find_config(settings)))
    problems += _collisions(generated, handwritten)
    result = Result(checked.value, sorted_diagnostics(checked.diagnostics + problems))
    return result, None if problems else DocsTree(generated, handwritten)


def prepare_preview(settings: Settings, cache: RenderCache) -> tuple[Result[KnowledgeBase], DocsTree]:
    """The docs tree `kb serve` shows: always a tree, also while records are broken.

    The valid records are rendered as `kb build` would; a broken record's page is a banner
    naming each error's line and message, and the home page lists the broken files, so the
    reviewer sees what to fix where they are looking instead of a stale page.
    """
    checked = validate(settings.kb_dir, as_of=settings.as_of)
    result, tree = _render_tree(checked, settings, cache)
    broken = broken_records(result.diagnostics)
    if tree is None:  # the site itself cannot be planned (two pages at one address)
        tree = DocsTree({}, {})
        broken = broken or {Path("site"): [d for d in result.diagnostics if d.severity is Severity.ERROR]}
    if broken:
        tree = DocsTree({**tree.generated, **banner_pages(broken, tree.generated, settings)}, tree.handwritten)
    return result, tree


def broken_records(diagnostics: list[Diagnostic]) -> dict[Path, list[Diagnostic]]:
    """The errors of each file that has any, in file order."""
    broken: dict[Path, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.severity is Severity.ERROR:
            broken.setdefault(diagnostic.path, []).append(diagnostic)
    return broken


def banner_pages(broken: dict[Path, list[Diagnostic]], generated: dict[str, str], settings: Settings) -> dict[str, str]:
    """A banner page at each broken review's address, and the home page with the list on top."""
    renderer = Renderer()
    pages: dict[str, str] = {}
    files = [(source_path(path, settings), errors) for path, errors in broken.items()]
    for path, errors in broken.items():
        if path.parent.name == "reviews" and ID_PATTERN.fullmatch(path.stem):
            doc = doc_for(urls.review_url(path.stem))
            pages[doc] = "---\nkb_source: generated\n---\n\n" + renderer.render(
                "broken.md.j2", {"files": [(source_path(path, settings), errors)], "title": path.stem}, here=doc)
    home = generated.get("index.md", "---\nkb_source: generated\n---\n\n# Post-incident reviews\n")
    head, _, body = home.partition("\n---\n")
    banner = renderer.render("partials/broken-banner.md.j2", {"files": files}, here="index.md")
    pages["index.md"] = f"{head}\n---\n\n{banner}\n{body.lstrip(chr(10))}"
    return pages


def generate_docs(settings: Settings, target: Path) -> Result[KnowledgeBase]:
    """Validate and write the whole docs tree (generated + hand-written) into target, as
    `kb build` hands it to MkDocs (the benchmarks build it with plain MkDocs). Only files
    whose content changed are written; nothing is written when the KB has errors.
    """
    result, tree = prepare_docs(settings)
    if tree is not None:
        tree.write(target)
    return result


def _engine(name: str) -> Callable[[Path, Path, Path, dt.date], list[Diagnostic]]:
    """The function that builds a docs tree into a site with the named engine."""
    if name == "zensical":
        from generator.engines import run_zensical

        return run_zensical
    return run_mkdocs


@dataclass(frozen=True)
class Published:
    """What `kb build` returns besides its findings: small, whatever the size of the KB."""

    files: int  # files read (reviews and catalogs), for the summary line


@dataclass(frozen=True)
class _Docs:
    """What writing the docs tree hands to the rest of the build (see _write_docs)."""

    checked: Result[Published]
    written: bool  # False: the KB has errors, nothing was written
    in_cache: bool = False  # written into the build cache's docs folder (else the work folder's)
    warm: bool = False  # the cache held the last build's docs and site
    reason: str = ""  # why the cache was cold
    change: TreeChange | None = None
    handwritten: dict[str, Path] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()  # HTML files Pagefind need not read
    pages: int = 0
    rendered: int = 0


def build_site(settings: Settings, *, stage: Stage = _quiet, stats: BuildStats | None = None) -> Result[Published]:
    """Validate, render and publish the KB; nothing is written unless all of it succeeds.

    `stage` hears of each step as it starts: validating, rendering, running MkDocs,
    indexing for search, publishing. With the build cache (generator/incremental.py) only
    the pages an edit changed are rendered and built again; `stats` learns how it went.

    Memory: the model and the rendered pages live in a forked process that writes the docs
    tree and exits before MkDocs starts (_apart), so a build's peak is the larger of the
    two stages, never their sum.
    """
    stats = stats if stats is not None else BuildStats()
    config_file = find_config(settings)
    check_site_dir(settings.site_dir, kb_dir=settings.kb_dir, config_file=config_file)
    store = BuildCache.open(settings, config_file, _handwritten_files(handwritten_dir(config_file)))
    site_dir = settings.site_dir.absolute()
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        recover(site_dir)
        work = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.build-{os.getpid()}-", dir=site_dir.parent))
        try:
            _step("work-created")
            if store is not None and not store.lock():
                store = None  # another build holds it: this one goes without, as before the cache
            docs = _apart(lambda told: _write_docs(settings, store, work / "docs", told), stage)
            if not docs.written:
                return docs.checked
            _step("docs-written")
            return _publish(settings, config_file, docs, store, work, site_dir, stage, stats)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        # A full disk, an unwritable folder: say which path, and that nothing was lost.
        where = exc.filename or site_dir.parent
        kept = f"the previous site at {settings.site_dir} is kept" if site_dir.exists() else "no site was written"
        raise SiteError(f"could not write {where}: {exc.strerror or exc}; {kept}") from exc
    finally:
        if store is not None:
            store.close()


def _write_docs(settings: Settings, store: BuildCache | None, target: Path, stage: Stage) -> _Docs:
    """Validate, render and write the docs tree: into the build cache when it can be written,
    else into `target`. The rendered pages and ranking go to the cache too, not yet vouched for."""
    renders = None
    if store is not None:
        renders = RenderCache()
        renders.pages = store.pages()
        renders.ranking = store.ranking()
        use_bytecode_cache(store.folder.parent.parent / "templates")  # .kb-cache/templates, beside build/
    checked, tree = prepare_docs(settings, cache=renders, stage=stage)
    kb = checked.value
    summary = Result(Published(files=kb.files if kb is not None else 0), checked.diagnostics)
    if tree is None:
        return _Docs(summary, written=False)
    handwritten, skip = tree.handwritten, unsearchable(tree.generated)
    if store is not None and renders is not None and store.begin():
        try:
            before = inodes(store.docs) if store.warm else {}
            tree.write(store.docs)
            change = tree_change(before, inodes(store.docs))
            store.keep(renders.pages, renders.ranking)
            return _Docs(summary, True, in_cache=True, warm=store.warm, reason=store.reason, change=change,
                         handwritten=handwritten, skip=skip, pages=len(renders.pages), rendered=renders.rendered)
        except OSError:
            pass  # the cache folder cannot be written: build as every build did before it
    tree.write(target)
    return _Docs(summary, True, handwritten=handwritten, skip=skip)


def _apart(task: Callable[[Stage], _Docs], stage: Stage) -> _Docs:
    """Run `task` in a forked process and return what it returns (its stages told here as
    they come), so its memory is given back before the next step; in this process where
    forking is not safe (threads running, no fork)."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return task(stage)
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            reader.close()
            outcome: tuple[str, Any] = ("done", task(lambda name: writer.send(("stage", name))))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
            outcome = ("raised", exc)
        try:
            writer.send(outcome)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
            writer.send(("raised", SiteError(f"preparing the docs failed: {outcome[1]!r}")))
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    writer.close()
    try:
        while True:
            try:
                kind, value = reader.recv()
            except EOFError:
                raise SiteError("the process that renders the pages stopped before it finished (out of memory, "
                                "or killed); nothing was published") from None
            if kind != "stage":
                break
            stage(value)
    finally:
        reader.close()
        os.waitpid(pid, 0)
    if kind == "raised":
        raise value
    return value


def _publish(settings: Settings, config_file: Path, docs: _Docs, store: BuildCache | None, work: Path,
             site_dir: Path, stage: Stage, stats: BuildStats) -> Result[Published]:
    checked = docs.checked
    if docs.in_cache and store is not None:
        found = _build_cached(store, docs, config_file, work / "site", settings, stage, stats)
    else:
        stage("running Zensical" if settings.engine == "zensical" else "running MkDocs")
        found = _engine(settings.engine)(config_file, work / "docs", work / "site", settings.as_of)
    result = Result(checked.value, sorted_diagnostics(checked.diagnostics + found))
    _step("site-built")
    if not result.failed(strict=settings.strict):
        stage("indexing for search")
        found += run_pagefind(work / "site", config_file, docs.skip)
        result = Result(checked.value, sorted_diagnostics(checked.diagnostics + found))
        _step("indexed")
    if not result.failed(strict=settings.strict):
        stage("publishing")
        swap_in(work / "site", site_dir)
    return result


def _build_cached(store: BuildCache, docs: _Docs, config_file: Path, site: Path,
                  settings: Settings, stage: Stage, stats: BuildStats) -> list[Diagnostic]:
    """Build in the cache folder (dirty when it was warm) and copy the site to `site`."""
    stats.pages, stats.rendered = docs.pages, docs.rendered
    change = docs.change
    assert change is not None
    stats.changed, stats.removed = len(change.changed), len(change.removed)
    stage(f"running MkDocs on {stats.changed + stats.removed:,} changed files" if docs.warm else "running MkDocs")
    found, dirty = run_mkdocs_incremental(config_file, store.docs, store.site, settings.as_of,
                                          change=change if docs.warm else None, handwritten=docs.handwritten)
    stats.mode = "incremental" if dirty else "cold"
    stats.reason = "" if dirty else (docs.reason if not docs.warm else "a page was added or removed, and no nav is configured")
    if any(d.severity is Severity.ERROR for d in found):
        return found
    if not found:  # a build MkDocs warned about is not vouched for: the next one is cold and warns again
        with contextlib.suppress(OSError):
            store.vouch()
    try:
        copy_site(store.site, site)
    except OSError as exc:
        return found + [error(config_file, 1, 1, "site", f"the built site could not be copied out of the build cache: {exc}",
                              "build without the cache: KB_CACHE=off kb build")]
    return found
