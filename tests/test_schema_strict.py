"""The schemas scftest ships pass strict JSON Schema 2020-12 validators (issue 17 item 6).

Editors and CI validators such as ajv refuse, in their default strict mode, a keyword that
no 2020-12 vocabulary defines (the suite schema once carried 41 ``x-example``). Three
checks: the 2020-12 meta-schema (jsonschema), every keyword known to a 2020-12 vocabulary
(read from the vocabularies' own meta-schemas, so no list of ours can drift), and ajv itself
in strict mode when it is installed (``.ci/run`` installs ajv-cli with npm; set SCFTEST_AJV
to its launcher or have ``ajv`` on PATH). The suite schema's ``examples`` feed the loader's
messages, so each must also be a valid value where it stands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator, Set, Tuple

import jsonschema
import pytest
from jsonschema_specifications import REGISTRY

SCHEMAS = sorted((Path(__file__).resolve().parent.parent / "schemas").glob("*.json"))
SUITE_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "suite.schema.json"
AJV = os.environ.get("SCFTEST_AJV") or shutil.which("ajv")

# Keywords whose value is a schema, a list of schemas or a mapping of names to schemas.
_ONE = {"additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema"}
_MANY = {"allOf", "anyOf", "oneOf", "prefixItems"}
_NAMED = {"properties", "patternProperties", "$defs", "dependentSchemas"}


def _vocabulary_keywords() -> Set[str]:
    meta = REGISTRY.contents("https://json-schema.org/draft/2020-12/schema")
    keywords: Set[str] = set(meta.get("properties", {}))
    for uri in meta["$vocabulary"]:
        vocabulary = REGISTRY.contents(uri.replace("/vocab/", "/meta/"))
        keywords |= set(vocabulary.get("properties", {}))
    return keywords


def _subschemas(schema: Any, pointer: str = "#") -> Iterator[Tuple[str, dict]]:
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for key, value in schema.items():
        if key in _ONE:
            yield from _subschemas(value, f"{pointer}/{key}")
        elif key in _MANY:
            for index, item in enumerate(value):
                yield from _subschemas(item, f"{pointer}/{key}/{index}")
        elif key in _NAMED:
            for name, item in value.items():
                yield from _subschemas(item, f"{pointer}/{key}/{name}")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
def test_the_schema_is_valid_against_the_2020_12_meta_schema(path: Path) -> None:
    schema = _load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
def test_every_keyword_belongs_to_a_2020_12_vocabulary(path: Path) -> None:
    known = _vocabulary_keywords()
    assert {"examples", "description", "$defs", "oneOf"} <= known  # the vocabularies were read
    unknown = sorted(f"{pointer}: {key}" for pointer, sub in _subschemas(_load(path)) for key in sub
                     if key not in known)
    assert not unknown, unknown


def test_the_walk_reaches_every_subschema() -> None:
    # Without this, a walk that stopped early would let the vocabulary test pass on anything.
    pointers = {pointer for pointer, _ in _subschemas(_load(SUITE_SCHEMA))}
    assert {"#/$defs/logEntry/oneOf/1/properties/regex", "#/$defs/environment/additionalProperties",
            "#/$defs/layers/items", "#/properties/cases"} <= pointers


def test_each_example_is_a_valid_value_where_it_stands() -> None:
    schema = _load(SUITE_SCHEMA)
    root = jsonschema.Draft202012Validator(schema)
    with_examples = [(pointer, sub) for pointer, sub in _subschemas(schema) if "examples" in sub]
    assert len(with_examples) >= 50
    for pointer, sub in with_examples:
        assert isinstance(sub["examples"], list) and sub["examples"], pointer
        for example in sub["examples"]:
            problems = [error.message for error in root.evolve(schema=sub).iter_errors(example)]
            assert not problems, (pointer, example, problems)


def test_an_example_that_does_not_fit_is_caught() -> None:
    schema = _load(SUITE_SCHEMA)
    sub = schema["$defs"]["timeout"]
    assert list(jsonschema.Draft202012Validator(schema).evolve(schema=sub).iter_errors("timeout: 3"))


@pytest.mark.skipif(not (AJV and shutil.which("node")),
                    reason="ajv-cli (or node) not found: set SCFTEST_AJV to its launcher "
                           "(npm install --prefix /tmp/ajv ajv-cli@5.0.0)")
@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
@pytest.mark.parametrize("options", [
    [],  # ajv's defaults: strict about keywords, formats and numbers; union types only warned of
    ["--strict=true", "--allow-union-types"],  # every strict rule; "type": [a, b] is standard 2020-12
], ids=["default", "strict"])
def test_ajv_compiles_the_schema_in_strict_mode(path: Path, options: list) -> None:
    done = subprocess.run([AJV, "compile", "--spec=draft2020", *options, "-s", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unknown keyword" not in done.stdout + done.stderr
