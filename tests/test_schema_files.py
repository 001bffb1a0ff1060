"""The JSON Schema files scftest ships are plain, unambiguous JSON: no key twice in one
object (a JSON parser silently keeps the last one, so a duplicate hides an edit)."""

import json
from pathlib import Path

import pytest

SCHEMAS = sorted((Path(__file__).resolve().parent.parent / "schemas").glob("*.json"))


def _no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    assert not twice, f"keys written twice in one object: {twice}"
    return dict(pairs)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda path: path.name)
def test_a_schema_file_has_no_key_twice(schema: Path) -> None:
    json.loads(schema.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)


def test_the_schemas_are_found() -> None:
    assert {path.name for path in SCHEMAS} >= {"suite.schema.json", "report.schema.json"}
