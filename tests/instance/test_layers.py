"""``layers:`` (suite format 1.1): folders the function sees under /opt, in order, later
winning on the same path, read-only; in process isolation, on sys.path instead.

The handlers run on the real interpreters (2.7, 3.6 and the newest present); namespace
tests skip, saying why, where the machine cannot make namespaces."""

import json
import os
import textwrap
from pathlib import Path

import pytest
from conftest import CORE_VERSIONS, invoke_once, make_call, python_params, shared_sandbox

from scftest.instance.sandbox import opt_mounts
from scftest.instance.spawn import SpawnBackend
from scftest.load.loader import load_paths

CORE = python_params(CORE_VERSIONS)

HANDLER = """\
import errno
import os
import sys


def main_handler(event, context):
    from pkg import shared
    try:
        from pkg import only_a
        only = only_a.WHO
    except ImportError:
        only = None
    import mod_b
    import link_b
    try:
        open(os.path.join(os.path.dirname(shared.__file__), "new.py"), "w")
        written = "yes"
    except (IOError, OSError) as exc:
        written = errno.errorcode.get(exc.errno, str(exc.errno))
    return {"shared": shared.WHO, "only_a": only, "mod_b": mod_b.WHO, "link_b": link_b.WHO,
            "file": shared.__file__, "written": written,
            "opt": sorted(os.listdir("/opt")) if os.path.isdir("/opt") else None,
            "path": sys.path[:4]}
"""


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def function(tmp_path: Path):
    """A code root and two layers: a and b both have pkg/ (b's shared.py wins, a's
    only_a.py stays), b has mod_b.py and link_b.py (a link to it)."""
    write(tmp_path, {
        "code/index.py": HANDLER,
        "layer_a/pkg/__init__.py": "",
        "layer_a/pkg/shared.py": "WHO = 'a'\n",
        "layer_a/pkg/only_a.py": "WHO = 'a'\n",
        "layer_b/pkg/__init__.py": "",
        "layer_b/pkg/shared.py": "WHO = 'b'\n",
        "layer_b/mod_b.py": "WHO = 'b'\n",
    })
    os.symlink("mod_b.py", tmp_path / "layer_b/link_b.py")
    return tmp_path


def run(version, isolation, root: Path):
    spec, request = make_call(version, str(root / "code"), "index.main_handler",
                              layers=(root / "layer_a", root / "layer_b"))
    sandbox = shared_sandbox("strict" if isolation == "namespace" else "process")
    with SpawnBackend(sandbox=sandbox) as backend:
        record = invoke_once(spec, request, backend=backend)
    assert record.isolation == isolation
    assert record.status == "success", record.log + str(record.error)
    return record.return_value


@pytest.mark.parametrize("version", CORE)
def test_layers_are_merged_under_opt_read_only(function: Path, version, isolation):
    got = run(version, isolation, function)
    if isolation == "namespace":
        # As SCF unpacks the layers into /opt in turn: pkg/ merges, b's shared.py wins.
        assert (got["shared"], got["only_a"], got["mod_b"], got["link_b"]) == ("b", "a", "b", "b")
        assert got["file"].startswith("/opt/pkg/shared.py")
        assert got["opt"] == ["link_b.py", "mod_b.py", "pkg"]  # not the host's /opt
        assert got["path"][:2] == ["/var/user", "/opt"]
        assert got["written"] == "EROFS"
    else:
        # The fallback: each layer on sys.path, the last first; pkg/ comes from b alone
        # (b's pkg has no only_a.py: the import fails), and the files are writable.
        assert (got["shared"], got["only_a"], got["mod_b"], got["link_b"]) == ("b", None, "b", "b")
        assert got["path"][:3] == [str(function / "code"), str(function / "layer_b"),
                                   str(function / "layer_a")]


@pytest.fixture
def disjoint(tmp_path: Path):
    write(tmp_path, {
        "code/index.py": """\
            import sys
            def main_handler(event, context):
                import from_a, from_b, both
                return [from_a.WHO, from_b.WHO, both.WHO, sys.path[:3]]
            """,
        "layer_a/from_a.py": "WHO = 'a'\n",
        "layer_a/both.py": "WHO = 'a'\n",
        "layer_b/from_b.py": "WHO = 'b'\n",
        "layer_b/both.py": "WHO = 'b'\n",
    })
    return tmp_path


@pytest.mark.parametrize("version", CORE)
def test_a_later_layer_wins_in_both_isolations(disjoint: Path, version, isolation):
    got = run(version, isolation, disjoint)
    assert got[:3] == ["a", "b", "b"]


def test_opt_mounts_merge_folders_and_let_the_later_layer_win(function: Path):
    mounts = opt_mounts([str(function / "layer_a"), str(function / "layer_b")])
    a, b = os.path.realpath(function / "layer_a"), os.path.realpath(function / "layer_b")
    assert mounts == [
        ["link", "link_b.py", "mod_b.py"],
        ["bind", "mod_b.py", f"{b}/mod_b.py"],
        ["dir", "pkg"],
        ["bind", "pkg/__init__.py", f"{b}/pkg/__init__.py"],
        ["bind", "pkg/only_a.py", f"{a}/pkg/only_a.py"],
        ["bind", "pkg/shared.py", f"{b}/pkg/shared.py"],
    ]


def test_a_file_in_a_later_layer_replaces_a_folder(tmp_path: Path):
    write(tmp_path, {"a/thing/x.py": "", "b/thing": "a file\n", "c/thing/y.py": ""})
    mounts = opt_mounts([str(tmp_path / "a"), str(tmp_path / "b")])
    assert mounts == [["bind", "thing", f"{os.path.realpath(tmp_path / 'b')}/thing"]]
    # ... and a folder after the file starts over: only c's folder.
    mounts = opt_mounts([str(tmp_path / name) for name in "abc"])
    assert mounts == [["bind", "thing", f"{os.path.realpath(tmp_path / 'c')}/thing"]]


# --- the suite key ------------------------------------------------------------------

SUITE = """\
function:
  code: ../code
  handler: index.main_handler
  layers:
    - ../layer_a
    - ../missing
cases:
  - name: own layers
    layers: [../code/index.py]
  - name: no layers
    layers: []
  - name: the function's layers
"""


def test_layers_must_be_folders_named_at_their_line(function: Path):
    write(function, {"suites/s.yaml": SUITE})
    loaded = load_paths([function / "suites"])
    problems = sorted(str(p) for p in loaded.problems)
    assert len(problems) == 2, problems
    assert "s.yaml:6:7: the layer folder '../missing' does not exist" in problems[0]
    assert "s.yaml:9:14: layer '../code/index.py' is a file, not a folder" in problems[1]


def test_a_case_overrides_the_functions_layers(function: Path):
    write(function, {"suites/s.yaml": SUITE.replace("    - ../missing\n", "")
                     .replace("[../code/index.py]", "[../layer_b, ../layer_a]")})
    loaded = load_paths([function / "suites"])
    assert not loaded.problems, [str(p) for p in loaded.problems]
    cases = {case.name: case for case in loaded.suites[0].cases}
    real = Path(os.path.realpath(function))
    assert cases["own layers"].function.layers == (real / "layer_b", real / "layer_a")
    assert cases["no layers"].function.layers == ()
    assert cases["the function's layers"].function.layers == (real / "layer_a",)


def test_the_schema_documents_layers():
    schema = json.loads((Path(__file__).parents[2] / "schemas/suite.schema.json").read_text())
    layers = schema["$defs"]["layers"]
    assert layers["examples"] == [["../layers/common"]]
    assert schema["$defs"]["function"]["properties"]["layers"] == {"$ref": "#/$defs/layers"}
    assert schema["$defs"]["case"]["properties"]["layers"] == {"$ref": "#/$defs/layers"}
