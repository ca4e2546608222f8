"""The JSON Schemas as files editors use, and as data shipped inside the package.

The schemas in schemas/ must be valid Draft 2020-12, document every property (editors show
title and description on hover), and close every object (an unknown key is an error). A wheel
built from the repo must carry them as generator/schemas/*.json, so that an installed
package validates without a checkout beside it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest

from conftest import AS_OF, make_kb, valid_review
from generator import schema

REPO = Path(__file__).resolve().parent.parent
SCHEMA_FILES = sorted((REPO / "schemas").glob("*.schema.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, dict]]:
    """Every subschema of a schema, with a JSON-pointer-like location."""
    if isinstance(node, dict):
        yield where, node
        for key, child in node.items():
            yield from walk(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from walk(child, f"{where}/{index}")


def test_there_is_a_schema_per_record_kind():
    assert [p.name for p in SCHEMA_FILES] == ["controls.schema.json", "review.schema.json", "taxonomy.schema.json"]
    assert sorted(schema.SCHEMA_NAMES) == ["controls", "review", "taxonomy"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path):
    document = load(path)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$id"].endswith("/" + path.name)
    assert document["title"] and document["description"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_property_has_a_title_and_a_description(path):
    missing = [f"{where}/properties/{name}"
               for where, node in walk(load(path)) if isinstance(node.get("properties"), dict)
               for name, prop in node["properties"].items()
               if isinstance(prop, dict) and not (prop.get("title") and prop.get("description"))
               and not _only_narrows(where)]
    assert missing == []


def _only_narrows(where: str) -> bool:
    # Inside if/then a 'properties' only narrows a property documented at its definition.
    return "/if" in where or "/then" in where


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_object_is_closed(path):
    open_objects = []
    for where, node in walk(load(path)):
        if node.get("type") != "object":
            continue
        if "properties" in node and node.get("additionalProperties") is not False:
            open_objects.append(where)
        # A map (fishbone groups) has no fixed properties: its keys must be constrained instead.
        if "properties" not in node and "propertyNames" not in node:
            open_objects.append(where)
    assert open_objects == []


def test_schema_ids_are_unique():
    assert len({load(p)["$id"] for p in SCHEMA_FILES}) == len(SCHEMA_FILES)


def test_the_tool_reads_the_same_schemas(tmp_path):
    for path in SCHEMA_FILES:
        name = path.name.removesuffix(".schema.json")
        assert json.loads(schema.schema_text(name)) == load(path)


# -- the built package ------------------------------------------------------------------------------

def _build_wheel(source: Path, dist: Path) -> Path:
    """Build a wheel with pip: without isolation when the build tools are here, else isolated."""
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)]
    for extra in (["--no-build-isolation"], []):
        done = subprocess.run(base[:5] + extra + base[5:], capture_output=True, text=True, timeout=120)
        wheels = sorted(dist.glob("incident_kb-*.whl"))
        if done.returncode == 0 and wheels:
            return wheels[0]
    pytest.fail(f"pip wheel failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Build from a copy: an in-tree build would write build/ and *.egg-info into the checkout.
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("generator", "schemas"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    return _build_wheel(source, work / "dist")


def test_wheel_contains_the_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in SCHEMA_FILES:
        assert f"generator/schemas/{path.name}" in names
        assert json.loads(zipfile.ZipFile(wheel).read(f"generator/schemas/{path.name}")) == load(path)


def test_installed_package_validates_without_a_checkout(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    good = make_kb(tmp_path, name="good")
    bad = make_kb(tmp_path, {"INC-2025-001": valid_review(classification="TLP:WHITE")}, name="bad")
    probe = (f"import generator, sys; assert generator.__file__.startswith({str(installed)!r}), generator.__file__; "
             "from generator.cli import main; main()")
    env = {"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}
    results = {}
    for kb in (good, bad):
        done = subprocess.run([sys.executable, "-c", probe, "validate", "--kb", str(kb), "--as-of", AS_OF],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert "Traceback" not in done.stderr, done.stderr
        results[kb.name] = (done.returncode, done.stdout)
    assert results["good"] == (0, "")
    assert results["bad"][0] == 1
    assert results["bad"][1].startswith("bad/reviews/INC-2025-001.yaml:6:17: error: ")
    assert results["bad"][1].rstrip().endswith("[tlp-white]")
