"""What a reviewer sees from `kb validate` on the mistakes of a newcomer (issue 16)."""

from __future__ import annotations

from conftest import AS_OF, make_kb, run_kb, run_validate, to_yaml, valid_review


def test_an_unclosed_quote_is_reported_where_it_opened(tmp_path) -> None:
    # The quote on the title line runs on to a quote in a comment far below; the parser fails there.
    text = to_yaml(valid_review()).replace("title: Signed-URL", 'title: "Signed-URL', 1)
    text += '# a comment that mentions "quoted" words\n'
    title_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("title:"))
    kb = make_kb(tmp_path, reviews={"INC-2025-001": text})
    outcome = run_validate(kb)
    assert outcome.exit_code == 1
    [finding] = outcome.findings
    assert (finding.rule, finding.line, finding.col) == ("yaml", title_line, 8)
    assert "quoted text opened here" in finding.message


def test_a_quote_never_closed_points_at_its_opening(tmp_path) -> None:
    text = to_yaml(valid_review()).replace("title: Signed-URL", 'title: "Signed-URL', 1)
    kb = make_kb(tmp_path, reviews={"INC-2025-001": text})
    [finding] = run_validate(kb).findings
    assert (finding.line, finding.col) == (text.splitlines().index(next(
        line for line in text.splitlines() if line.startswith("title:"))) + 1, 8)
    assert "never closed" in finding.message


def test_a_reference_to_a_record_that_failed_to_parse_is_not_unknown(tmp_path) -> None:
    broken = "id: INC-2025-002\ntitle: [unclosed\n"
    citing = valid_review(related=["INC-2025-002"])
    kb = make_kb(tmp_path, reviews={"INC-2025-001": citing, "INC-2025-002": broken})
    outcome = run_validate(kb)
    assert outcome.exit_code == 1
    assert [f.path for f in outcome.findings] == ["kb/reviews/INC-2025-002.yaml"]
    # A reference to an id no file has is still an error.
    kb2 = make_kb(tmp_path, reviews={"INC-2025-001": citing}, name="kb2")
    assert run_validate(kb2).rules == ["unknown-related"]


def test_a_fresh_record_gives_one_finding_per_empty_field(tmp_path) -> None:
    kb = make_kb(tmp_path)
    made = run_kb(["new", "--kb", "kb", "--title", "Test", "--as-of", AS_OF], cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    findings = [f for f in run_validate(kb).findings if f.path.endswith("INC-2025-002.yaml")]
    places = [(f.line, f.col) for f in findings]
    assert len(places) == len(set(places)), "\n".join(f"{f.line}:{f.col} {f.message}" for f in findings)
    facilitator = next(f for f in findings if f.message.startswith("review.facilitator"))
    assert "must not be empty" in facilitator.message
    assert "long text" not in facilitator.message and "one line" in facilitator.message


# -- the record's repository: the edit button and the "Source" link ---------------------

import subprocess  # noqa: E402

import pytest  # noqa: E402

from generator.repository import Repository, web_url  # noqa: E402


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/acme/security-kb.git", "https://github.com/acme/security-kb"),
    ("git@github.com:acme/security-kb.git", "https://github.com/acme/security-kb"),
    ("https://token@gitlab.com/acme/sec/kb", "https://gitlab.com/acme/sec/kb"),
    ("ssh://git@gitlab.example.org:2222/acme/kb.git", "https://gitlab.example.org/acme/kb"),  # self-hosted
    ("git@git.example.com:acme/kb.git", None),  # a host that is neither GitHub nor GitLab by name
    ("/srv/git/kb.git", None),
    ("https://example.com/acme/kb", None),
])
def test_only_github_and_gitlab_remotes_give_a_web_address(remote: str, url: str | None) -> None:
    assert web_url(remote) == url


def test_gitlab_links_use_its_own_paths() -> None:
    repo = Repository("https://gitlab.com/acme/kb", "main")
    assert repo.edit_url("kb/reviews/INC-2025-001.yaml") == "https://gitlab.com/acme/kb/-/edit/main/kb/reviews/INC-2025-001.yaml"


def _git(folder, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_the_edit_button_and_source_link_open_the_record_when_the_remote_is_known(tmp_path) -> None:
    kb = make_kb(tmp_path)
    _git(tmp_path, "init", "-q", "-b", "trunk")
    build = ["build", "--kb", "kb", "--as-of", AS_OF, "--site-dir", "site"]
    assert run_kb(build, cwd=tmp_path).exit_code == 0
    page = (tmp_path / "site" / "incidents" / "INC-2025-001" / "index.html").read_text(encoding="utf-8")
    assert "github.com" not in page and "md-content__button" not in page  # no remote: plain text, no button
    assert "<code>kb/reviews/INC-2025-001.yaml</code>" in page
    _git(tmp_path, "remote", "add", "origin", "git@github.com:acme/security-kb.git")
    assert run_kb(build, cwd=tmp_path).exit_code == 0
    page = (tmp_path / "site" / "incidents" / "INC-2025-001" / "index.html").read_text(encoding="utf-8")
    assert 'href="https://github.com/acme/security-kb/edit/trunk/kb/reviews/INC-2025-001.yaml"' in page
    assert 'href="https://github.com/acme/security-kb/blob/trunk/kb/reviews/INC-2025-001.yaml"><code>' in page
    assert kb.is_dir()
