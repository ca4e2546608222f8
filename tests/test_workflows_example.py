"""The everyday commands on the example KB in kb/ (skipped while it has no reviews), and the
publishing workflow's jobs. (tests/test_publish_workflow.py lints the workflow with actionlint.)
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import run_kb, run_validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "kb"
AS_OF = "2026-01-15"

needs_example = pytest.mark.skipif(not any((EXAMPLE / "reviews").glob("*.y*ml")), reason="the example KB has no reviews yet")


def kb(tmp_path: Path, *args: str):
    """Run kb on the example KB from a temporary folder (the search cache goes there)."""
    outcome = run_kb([*args, "--kb", str(EXAMPLE)], cwd=tmp_path)
    outcome.assert_no_crash()
    return outcome


@needs_example
def test_search_the_example(tmp_path: Path) -> None:
    outcome = kb(tmp_path, "search", "token", "--format", "json")
    assert outcome.exit_code == 0 and outcome.stderr == ""
    hits = json.loads(outcome.stdout)
    assert hits and all(h["url"].startswith(f"incidents/{h['review']}/") for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    red = {p.stem for p in (EXAMPLE / "reviews").glob("*.y*ml") if "TLP:RED" in p.read_text()}
    assert not red & {h["review"] for h in hits}


@needs_example
def test_show_every_example_review(tmp_path: Path) -> None:
    for path in sorted((EXAMPLE / "reviews").glob("*.y*ml")):
        outcome = kb(tmp_path, "show", path.stem)
        assert outcome.exit_code == 0
        first = outcome.stdout.splitlines()[0]
        assert first.startswith(f"{path.stem}: ")
        if "classification: TLP:RED" in path.read_text():
            assert "restricted" in first and len(outcome.stdout.splitlines()) == 1


@needs_example
@pytest.mark.parametrize("fmt", ["text", "json", "csv"])
def test_actions_on_the_example(tmp_path: Path, fmt: str) -> None:
    outcome = kb(tmp_path, "actions", "--as-of", AS_OF, "--format", fmt)
    assert outcome.exit_code == 0 and outcome.stdout
    if fmt == "json":
        rows = json.loads(outcome.stdout)
        overdue = [r for r in rows if r["overdue"]]
        assert rows[: len(overdue)] == overdue  # overdue first
        flagged = kb(tmp_path, "actions", "--as-of", AS_OF, "--overdue")
        assert flagged.exit_code == (1 if overdue else 0)
    elif fmt == "csv":
        assert list(csv.DictReader(outcome.stdout.splitlines()))


@needs_example
@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_training_on_the_example(tmp_path: Path, fmt: str) -> None:
    outcome = kb(tmp_path, "training", "--since", "2025-01-01", "--format", fmt)
    assert outcome.exit_code == 0
    if fmt == "json":
        lessons = json.loads(outcome.stdout)
        assert lessons and len({(i["review"], i["lesson"]) for i in lessons}) == len(lessons)
    else:
        assert outcome.stdout.startswith("# Lessons new since 2025-01-01")


@needs_example
@pytest.mark.parametrize("audience", ["internal", "public"])
def test_export_the_example(tmp_path: Path, audience: str) -> None:
    from generator.export import EXPORT_SCHEMA
    from generator.schema import _FORMATS

    outcome = kb(tmp_path, "export", "--as-of", AS_OF, "--audience", audience)
    assert outcome.exit_code == 0
    document = json.loads(outcome.stdout)
    jsonschema.Draft202012Validator(EXPORT_SCHEMA, format_checker=_FORMATS).validate(document)
    assert kb(tmp_path, "export", "--format", "csv", "--output", str(tmp_path / "csv")).exit_code == 0
    assert len((tmp_path / "csv" / "reviews.csv").read_text().splitlines()) > 1


@needs_example
def test_new_in_a_copy_of_the_example(tmp_path: Path) -> None:
    copy = shutil.copytree(EXAMPLE, tmp_path / "kb")
    years = sorted(p.stem for p in (copy / "reviews").glob("INC-2026-*.y*ml"))
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-06-01"], cwd=tmp_path)
    assert outcome.exit_code == 0
    expected = f"INC-2026-{int(years[-1].rsplit('-', 1)[1]) + 1:03d}" if years else "INC-2026-001"
    assert outcome.stdout.startswith(f"wrote kb/reviews/{expected}.yaml")
    findings = run_validate(copy, as_of="2026-06-01").findings
    assert {f.path for f in findings if f.severity == "error"} == {f"kb/reviews/{expected}.yaml"}


# -- the publishing workflow and the pre-commit hook ---------------------------------------------

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())


def runs(job: str) -> str:
    return "\n".join(step.get("run", "") + step.get("uses", "") for step in WORKFLOW["jobs"][job]["steps"])


def test_pull_requests_are_validated_with_annotations_and_built() -> None:
    assert WORKFLOW["jobs"]["check"]["if"] == "github.event_name == 'pull_request'"
    assert "kb validate --format github" in runs("check") and "kb build --site-dir" in runs("check")


def test_merges_deploy_with_the_official_pages_actions_for_the_public_by_default() -> None:
    events = WORKFLOW[True] if True in WORKFLOW else WORKFLOW["on"]  # YAML 1.1 reads the key `on` as true
    assert events["push"] == {"branches": ["main"]}
    assert WORKFLOW["env"]["KB_AUDIENCE"] == "public"
    assert '--audience "$KB_AUDIENCE"' in runs("build") and '--audience "$KB_AUDIENCE"' in runs("check")
    assert "actions/upload-pages-artifact" in runs("build") and "actions/deploy-pages" in runs("deploy")
    assert WORKFLOW["jobs"]["deploy"]["needs"] == "build"
    assert WORKFLOW["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert WORKFLOW["permissions"] == {"contents": "read"}  # only the deploy job may write


def test_a_daily_job_rebuilds_the_site_and_flags_overdue_actions() -> None:
    events = WORKFLOW[True] if True in WORKFLOW else WORKFLOW["on"]
    assert events["schedule"]
    assert "kb actions --overdue" in runs("overdue")
    assert "schedule" in WORKFLOW["jobs"]["overdue"]["if"] and "pull_request" not in WORKFLOW["jobs"]["overdue"]["if"]


def test_the_pre_commit_hook_validates_the_whole_kb_when_a_kb_file_changes() -> None:
    import re

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["pass_filenames"]) == ("kb-validate", "kb validate", False)
    for path in ("kb/reviews/INC-2025-014.yaml", "kb/reviews/INC-2025-014.yml", "kb/taxonomy.yaml", "kb/controls.yaml"):
        assert re.search(hook["files"], path), path
    for path in ("docs/guide/procedure.md", "generator/cli.py", "kb/reviews/notes.txt"):
        assert not re.search(hook["files"], path), path
