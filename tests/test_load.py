"""The load stage: bytes -> SourceRecord or a Diagnostic, with the position of every node."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_kb, valid_review
from generator.load import MAX_ALIAS_NODES, SourceRecord, discover_reviews, load_kb, parse_text, read_file

HERE = Path("reviews/X.yaml")


def parse(raw: bytes | str) -> tuple[SourceRecord | None, list[tuple[int, int, str]]]:
    """Parse bytes (or UTF-8 text) and return the record and (line, col, rule) of each finding."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    record, found = parse_text(HERE, raw)
    assert all(d.path == HERE and d.severity.value == "error" for d in found)
    return record, [(d.line, d.col, d.rule) for d in found]


# -- what parses, and into what --------------------------------------------------------

def test_plain_mapping_becomes_plain_data():
    record, found = parse("a: 1\nb: [x, 2.5, true, null]\nc: {d: text}\n")
    assert found == []
    assert record.data == {"a": 1, "b": ["x", 2.5, True, None], "c": {"d": "text"}}


@pytest.mark.parametrize("written", ["2025-03-02T14:05:00Z", "'2025-03-02T14:05:00Z'", '"2025-03-02T14:05:00Z"'])
def test_timestamps_stay_the_text_written_quoted_or_not(written):
    record, found = parse(f"at: {written}\n")
    assert found == []
    assert record.data == {"at": "2025-03-02T14:05:00Z"}


@pytest.mark.parametrize("written", ["2025-04-15", "'2025-04-15'", "2025-02-30", "2025-13-45"])
def test_dates_stay_text_even_impossible_ones(written):
    # The schema judges dates; the loader never turns them into objects or fails on them.
    record, found = parse(f"due: {written}\n")
    assert found == []
    assert record.data == {"due": written.strip("'")}


def test_yaml_1_1_values_are_read_as_yaml_reads_them():
    record, found = parse("owner: no\ntitle: 1.10\nwhen: 12:30\nhex: 0x1F\n")
    assert found == []
    assert record.data == {"owner": False, "title": 1.1, "when": 750, "hex": 31}


def test_utf8_bom_is_accepted():
    record, found = parse(b"\xef\xbb\xbfid: INC-2025-001\ntitle: x\n")
    assert found == []
    assert record.data == {"id": "INC-2025-001", "title": "x"}
    assert record.at_value(("title",)) == (2, 8)


def test_crlf_line_endings_are_accepted():
    record, found = parse(b"a: 1\r\nb: two\r\n")
    assert found == []
    assert record.data == {"a": 1, "b": "two"}
    assert record.at_value(("b",)) == (2, 4)


def test_anchors_aliases_and_merge_keys_are_allowed():
    record, found = parse("base: &b {x: 1, y: 2}\ncopy: *b\nmerged:\n  <<: *b\n  y: 3\n")
    assert found == []
    assert record.data["copy"] == {"x": 1, "y": 2}
    assert record.data["merged"] == {"x": 1, "y": 3}


# -- what does not parse: one finding, the rule and the place --------------------------

@pytest.mark.parametrize("raw, expected", [
    (b"", [(1, 1, "empty-file")]),
    (b"   \n\n\t\n", [(1, 1, "empty-file")]),
    (b"# only a comment\n", [(1, 1, "empty-file")]),
    (b"---\n", [(1, 1, "empty-file")]),
    (b"- a\n- b\n", [(1, 1, "not-a-mapping")]),
    (b"just text\n", [(1, 1, "not-a-mapping")]),
    (b"# comment\n42\n", [(2, 1, "not-a-mapping")]),
    (b"a: 1\n---\nb: 2\n", [(2, 1, "multiple-documents")]),
    (b"a: 1\n---\n", [(2, 1, "multiple-documents")]),
    (b"a: {b: [1, 2}\n", [(1, 13, "yaml")]),
    (b"a: 'unterminated\n", [(1, 4, "yaml")]),  # where the quote opened, not the end of the file
    (b"a: b: c\n", [(1, 5, "yaml")]),
    (b"a:\n\tb: 1\n", [(2, 1, "yaml")]),
    (b"a: 1\nb: 2\nc: \x01\n", [(3, 4, "yaml")]),
    (b"a: !!python/object:os.system x\n", [(1, 4, "yaml")]),
    (b"a: !!binary aGVsbG8=\n", [(1, 4, "yaml")]),
    (b"a: !custom x\n", [(1, 4, "yaml")]),
    (b"a: !!python/object/apply:os.system [id]\n", [(1, 4, "yaml")]),
    (b"a: !!set {x, y}\n", [(1, 4, "yaml")]),
    (b"!!python/object:x\nb: 1\n", [(1, 1, "yaml")]),
    (b"a: &a [*a]\n", [(1, 4, "alias-expansion")]),
    (b"a: 1\nb: caf\xe9\n", [(2, 7, "encoding")]),
    (b"a: 1\nb: 2\nc: \xff\xfe\n", [(3, 4, "encoding")]),
])
def test_broken_input_is_one_finding_at_its_place(raw, expected):
    record, found = parse(raw)
    assert record is None
    assert found == expected


def test_tab_indentation_gets_a_hint():
    _, found = parse_text(HERE, b"a:\n  b: 1\n\tc: 2\n")
    assert [(d.line, d.col, d.rule) for d in found] == [(3, 1, "yaml")]
    assert "tabs" in found[0].hint


def test_control_character_after_multibyte_text_is_on_its_own_line():
    # libyaml reports a byte offset: the line and column must still be counted in characters.
    _, found = parse("title: " + "é" * 300 + "\nb: ok\nc: ü\x01\n")
    assert found == [(3, 5, "yaml")]


def test_encoding_error_column_counts_characters():
    _, found = parse("title: ééé".encode("utf-8") + b"\xe9\n")
    assert found == [(1, 11, "encoding")]


def test_duplicate_key_is_reported_at_the_second_key():
    record, found = parse("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert found == [(4, 3, "duplicate-key")]
    assert record.data == {"a": 1, "b": {"c": 1}}


@pytest.mark.parametrize("key, shown", [("on", "boolean true"), ("no", "boolean false"), ("1", "number 1"),
                                        ("null", "null")])
def test_a_key_yaml_does_not_read_as_text_is_reported(key, shown):
    record, found = parse_text(HERE, f"title: x\n{key}: value\n".encode())
    assert [(d.line, d.col, d.rule) for d in found] == [(2, 1, "key-type")]
    assert shown in found[0].message
    assert found[0].hint == f"quote it: '{key}'"
    assert record.data == {"title": "x"}


def test_a_complex_key_is_reported():
    _, found = parse("? [a, b]\n: 1\n")
    assert found == [(1, 3, "key-type")]


def test_merge_key_must_name_a_mapping():
    _, found = parse("a: &a [1]\nb: {<<: *a}\n")
    assert [rule for _, _, rule in found] == ["yaml"]


# -- bombs and depth -------------------------------------------------------------------

def billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels):
        refs = ", ".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_stopped():
    _, found = parse(billion_laughs())
    assert [rule for _, _, rule in found] == ["alias-expansion"]


def test_aliases_below_the_limit_are_fine():
    # 9 + 9 * 10 + 9 * 100 + ... stays under MAX_ALIAS_NODES for three levels.
    record, found = parse(billion_laughs(levels=3))
    assert found == []
    assert len(record.data["a2"]) == 9
    assert 9 ** 3 < MAX_ALIAS_NODES


@pytest.mark.parametrize("brackets, expected", [(99, []), (100, [(1, 103, "nesting-depth")])])
def test_nesting_limit_is_100_levels(brackets, expected):
    # The top-level mapping is the first level, each bracket one more.
    _, found = parse("a: " + "[" * brackets + "]" * brackets + "\n")
    assert found == expected


def test_deep_flow_nesting_fails_fast():
    _, found = parse("a: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert found == [(1, 103, "nesting-depth")]


def test_deep_block_nesting_fails_fast():
    _, found = parse("a:\n  " + "- " * 10_000 + "x\n")
    assert found == [(2, 201, "nesting-depth")]


def test_deep_nesting_through_aliases_is_caught():
    levels = "".join(f"l{n}: &l{n} [*l{n - 1}]\n" for n in range(1, 120))
    _, found = parse("l0: &l0 [x]\n" + levels)
    assert [rule for _, _, rule in found] == ["nesting-depth"]


# -- positions -------------------------------------------------------------------------

POSITIONED = """\
# a comment
a:
  b: 1
  c: [x, {d: 2}]
e: &x {f: 1}
g: *x
"""


@pytest.mark.parametrize("path, key, value", [
    (("a",), (2, 1), (3, 3)),
    (("a", "b"), (3, 3), (3, 6)),
    (("a", "c"), (4, 3), (4, 6)),
    (("a", "c", 1), (4, 10), (4, 10)),
    (("a", "c", 1, "d"), (4, 11), (4, 14)),
    (("e", "f"), (5, 8), (5, 11)),
    (("g",), (6, 1), (6, 1)),  # an alias's value is where the alias is written
])
def test_positions_of_keys_and_values(path, key, value):
    record, _ = parse(POSITIONED)
    assert record.at_key(path) == key
    assert record.at_value(path) == value


def test_missing_path_points_at_the_nearest_enclosing_key():
    record, _ = parse(POSITIONED)
    assert record.at_value(("a", "zz")) == (2, 1)
    assert record.at_value(("zz",)) == (1, 1)


def test_a_mapping_starts_at_its_first_line_and_the_top_level_at_line_1():
    record, _ = parse(POSITIONED)
    assert record.at_mapping(()) == (1, 1)
    assert record.at_mapping(("a",)) == (3, 3)
    assert record.at_mapping(("a", "c", 1)) == (4, 10)


# -- files on disk ---------------------------------------------------------------------

def test_read_file_refuses_a_file_over_1_mib(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (1024 * 1024) + b"\n")
    record, found = read_file(path, tmp_path)
    assert record is None
    assert [(d.line, d.col, d.rule) for d in found] == [(1, 1, "file-too-large")]


def test_read_file_accepts_exactly_1_mib(tmp_path):
    path = tmp_path / "edge.yaml"
    body = b"a: "
    path.write_bytes(body + b"x" * (1024 * 1024 - len(body) - 1) + b"\n")
    record, found = read_file(path, tmp_path)
    assert found == [] and record is not None


def test_symlink_leaving_the_kb_is_not_followed(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("secret: 1\n")
    root = tmp_path / "kb"
    root.mkdir()
    (root / "link.yaml").symlink_to(outside)
    record, found = read_file(root / "link.yaml", root)
    assert record is None
    assert [(d.line, d.col, d.rule) for d in found] == [(1, 1, "symlink-escape")]


def test_symlink_inside_the_kb_is_followed(tmp_path):
    (tmp_path / "real.yaml").write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    record, found = read_file(tmp_path / "link.yaml", tmp_path)
    assert found == [] and record.data == {"a": 1}


@pytest.mark.parametrize("make, rule", [
    (lambda p: p.symlink_to(p.parent / "nowhere.yaml"), "missing-file"),
    (lambda p: (p.symlink_to(p.parent / "loop2.yaml"), (p.parent / "loop2.yaml").symlink_to(p)), "unreadable"),
    (lambda p: os.mkfifo(p), "not-a-file"),
])
def test_unreadable_paths_are_findings(tmp_path, make, rule):
    path = tmp_path / "odd.yaml"
    make(path)
    record, found = read_file(path, tmp_path)
    assert record is None
    assert [(d.line, d.col, d.rule) for d in found] == [(1, 1, rule)]


def test_discover_reads_yaml_and_yml_and_warns_about_everything_else(tmp_path):
    kb = make_kb(tmp_path, {"A-2025-001": "a: 1\n", "B-2025-002.yml": "b: 1\n", "notes.txt": "x",
                            "C-2025-003.YAML": "c: 1\n", "sub/D-2025-004.yaml": "d: 1\n"})
    paths, found = discover_reviews(kb)
    assert [p.name for p in paths] == ["A-2025-001.yaml", "B-2025-002.yml"]
    assert [(d.path.name, d.line, d.col, d.rule, d.severity.value) for d in found] == [
        ("C-2025-003.YAML", 1, 1, "stray-file", "warning"),
        ("notes.txt", 1, 1, "stray-file", "warning"),
        ("sub", 1, 1, "stray-file", "warning"),
    ]
    assert "C-2025-003.yaml" in found[0].hint


def test_discover_survives_a_symlink_loop_in_reviews(tmp_path):
    kb = make_kb(tmp_path)
    (kb / "reviews" / "loop1.yaml").symlink_to(kb / "reviews" / "loop2.yaml")
    (kb / "reviews" / "loop2.yaml").symlink_to(kb / "reviews" / "loop1.yaml")
    source, found = load_kb(kb)
    assert [r.stem for r in source.reviews] == ["INC-2025-001"]
    assert sorted((d.path.name, d.rule) for d in found) == [("loop1.yaml", "unreadable"), ("loop2.yaml", "unreadable")]


def test_reviews_folder_linked_out_of_the_kb_is_not_followed(tmp_path):
    elsewhere = make_kb(tmp_path, name="elsewhere")
    kb = make_kb(tmp_path, {})
    (kb / "reviews").rmdir()
    (kb / "reviews").symlink_to(elsewhere / "reviews")
    source, found = load_kb(kb)
    assert source.reviews == []
    assert [(d.path.name, d.rule) for d in found] == [("reviews", "symlink-escape")]


def test_load_kb_reads_everything_and_one_bad_file_hides_nothing(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(), "INC-2025-002": "a: [\n", "INC-2025-003": b"\xff"})
    source, found = load_kb(kb)
    assert [r.stem for r in source.reviews] == ["INC-2025-001"]
    assert source.taxonomy is not None and source.controls is not None
    assert source.files == 5
    assert sorted((d.path.name, d.rule) for d in found) == [("INC-2025-002.yaml", "yaml"), ("INC-2025-003.yaml", "encoding")]


def test_load_kb_reports_missing_catalogs(tmp_path):
    kb = make_kb(tmp_path, taxonomy=None, controls=None)
    source, found = load_kb(kb)
    assert source.taxonomy is None and source.controls is None
    assert sorted((d.path.name, d.line, d.rule) for d in found) == [
        ("controls.yaml", 1, "missing-file"), ("taxonomy.yaml", 1, "missing-file")]


def test_catalog_over_1_mib_is_refused(tmp_path):
    kb = make_kb(tmp_path, taxonomy="categories: []\n# " + "x" * (1024 * 1024) + "\n")
    _, found = load_kb(kb)
    assert [(d.path.name, d.line, d.rule) for d in found] == [("taxonomy.yaml", 1, "file-too-large")]
