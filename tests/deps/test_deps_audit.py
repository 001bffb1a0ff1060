"""The audit on real interpreters: what the cloud could not import, with file:line, and the
vendored copies and compiled files that do not fit the runtime."""

import glob
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import INTERPRETERS, needs
from scftest.deps.audit import (BINARY, IF, MISSING, PROBLEM, RELATIVE, SYNTAX, TRY, VENDORED, VERSION, WARNING,
                                audit)
from scftest.deps.targets import Target
from scftest.instance import Interpreter
from scftest.instance.interpreters import RuntimeNotFound


def resolve(runtime):
    version = runtime[len("Python"):]
    if not INTERPRETERS.get(version):
        raise RuntimeNotFound(f"no interpreter for runtime {runtime}")
    path, full = INTERPRETERS[version]
    return Interpreter(runtime, path, full)


def write(root: Path, files: dict) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def check(root: Path, runtime: str, cache: Path, handlers=("index.main_handler",), layers=()):
    report = audit([Target(root, runtime, tuple(handlers), tuple(layers))], resolve, cache=cache)
    (function,) = report.functions
    assert not function.unchecked, function.unchecked
    return report, function


def found(function, kind=None):
    return [(f.kind, f.severity, f.file.name, f.line, f.module) + ((f.excused,) if f.excused else ())
            for f in function.findings if kind is None or f.kind == kind]


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@needs("3.6")
def test_a_lazy_import_of_a_missing_package_inside_a_function_is_found_with_its_line(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": """\
        import json

        def main_handler(event, context):
            import simplejson
            return simplejson.dumps(event)
        """})
    report, function = check(root, "Python3.6", cache)
    assert found(function) == [(MISSING, PROBLEM, "index.py", 4, "simplejson")]
    assert dict(function.modules) == {"json": "stdlib", "simplejson": "missing"}
    assert report.exit_code == 1


@needs("3.6")
def test_a_try_guarded_import_is_a_warning_and_the_run_passes(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": """\
        try:
            import ujson as json
        except ImportError:
            import json
        def main_handler(event, context):
            return json.dumps(event)
        """})
    report, function = check(root, "Python3.6", cache)
    assert found(function) == [(MISSING, WARNING, "index.py", 2, "ujson", TRY)]
    assert report.exit_code == 0


@needs("3.6")
def test_an_import_under_a_python_version_check_is_a_warning(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": """\
        import sys
        PY2 = sys.version_info[0] == 2
        if PY2:
            import urlparse
        else:
            from urllib import parse as urlparse
        if sys.version_info < (3, 0):
            import cPickle as pickle
        if sys.platform == "win32":
            import msvcrt
        """})
    report, function = check(root, "Python3.6", cache)
    assert found(function) == [(MISSING, WARNING, "index.py", 4, "urlparse", IF),
                               (MISSING, WARNING, "index.py", 8, "cPickle", IF),
                               (MISSING, WARNING, "index.py", 10, "msvcrt", IF)]
    assert report.exit_code == 0


@pytest.mark.parametrize("runtime, module, fine", [
    pytest.param("Python2.7", "asyncio", False, marks=needs("2.7")),
    pytest.param("Python3.6", "asyncio", True, marks=needs("3.6")),
    pytest.param("Python3.10", "tomllib", False, marks=needs("3.10")),
    pytest.param("Python3.10", "zoneinfo", True, marks=needs("3.10")),
    pytest.param("Python2.7", "urllib2", True, marks=needs("2.7")),
    pytest.param("Python3.6", "urllib2", False, marks=needs("3.6")),
])
def test_a_stdlib_module_is_fine_on_one_runtime_and_missing_on_another(runtime, module, fine, tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": f"import {module}\ndef main_handler(event, context):\n    pass\n"})
    report, function = check(root, runtime, cache)
    assert found(function) == ([] if fine else [(MISSING, PROBLEM, "index.py", 1, module)])


@needs("2.7", "3.6")
def test_python2_code_is_read_by_the_python2_interpreter_and_is_a_problem_on_python3(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": """\
        import urllib2
        def main_handler(event, context):
            print "fetching"
            import lazy_gone
            return urllib2
        """})
    _, on27 = check(root, "Python2.7", cache)
    assert found(on27) == [(MISSING, PROBLEM, "index.py", 4, "lazy_gone")]
    _, on36 = check(root, "Python3.6", cache)
    assert [(f.kind, f.severity, f.line) for f in on36.findings] == [(SYNTAX, PROBLEM, 3)]  # the handler's file


@needs("3.6", "3.10")
def test_image_libraries_resolve_on_the_runtimes_whose_image_has_them(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": """\
        import requests, PIL.Image, qcloud_cos_v5
        from google.protobuf import json_format
        def main_handler(event, context):
            pass
        """})
    _, on36 = check(root, "Python3.6", cache)
    assert on36.findings == ()
    assert {m: o for m, o in on36.modules} == {"requests": "image", "PIL": "image", "qcloud_cos_v5": "image",
                                               "google": "image"}
    _, on310 = check(root, "Python3.10", cache)  # from 3.7 on the images have no libraries
    assert [(f.module, f.expected) for f in on310.findings] == [
        ("requests", "Python2.7"), ("PIL.Image", "Python2.7"), ("qcloud_cos_v5", "Python2.7"),
        ("google.protobuf", "Python2.7")]


@needs("2.7", "3.6")
def test_code_layers_and_relative_imports_resolve_as_on_the_clouds_sys_path(tmp_path, cache):
    layer = write(tmp_path / "layer", {"shared/__init__.py": "", "tools.py": ""})
    root = write(tmp_path / "fn", {
        "index.py": "import shared, tools\nfrom lib import helpers\nfrom lib.helpers import x\n"
                    "def main_handler(event, context):\n    pass\n",
        "lib/__init__.py": "",
        "lib/helpers.py": "from .util import y\nfrom . import util\nfrom .gone import z\nfrom ... import far\n"
                          "import util\nx = 1\n",
        "lib/util.py": "y = 1\n",
        "src/report.py": "import sibling\n",
        "src/sibling.py": "",
    })
    handlers = ("index.main_handler", "src/report.daily")
    _, on36 = check(root, "Python3.6", cache, handlers, (layer,))
    assert found(on36) == [(RELATIVE, PROBLEM, "helpers.py", 3, ".gone"), (RELATIVE, PROBLEM, "helpers.py", 4, "..."),
                           (MISSING, PROBLEM, "helpers.py", 5, "util")]  # Python 3 has no implicit relative import
    assert dict(on36.modules)["shared"] == "layer" and dict(on36.modules)["lib"] == "code"
    assert dict(on36.modules)["sibling"] == "code"  # the handler's folder is on sys.path
    _, on27 = check(root, "Python2.7", cache, handlers, (layer,))
    assert found(on27, MISSING) == []  # Python 2 finds lib/util.py from lib/helpers.py


@needs("3.6")
def test_a_lazy_import_inside_a_vendored_distribution_is_a_warning(tmp_path, cache):
    root = write(tmp_path / "fn", {
        "index.py": "import fancylib\ndef main_handler(event, context):\n    pass\n",
        "fancylib/__init__.py": "def speed():\n    import cython_helpers\n",
        "fancylib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: fancylib\nVersion: 1.0\n",
        "fancylib-1.0.dist-info/top_level.txt": "fancylib\n",
    })
    report, function = check(root, "Python3.6", cache)
    assert found(function) == [(MISSING, WARNING, "__init__.py", 2, "cython_helpers", VENDORED)]
    assert function.findings[0].owner == "fancylib" and report.exit_code == 0


@needs("3.6")
def test_a_vendored_copy_at_another_version_than_the_images_is_a_warning(tmp_path, cache):
    root = write(tmp_path / "fn", {
        "index.py": "import requests, six, certifi, chardet\ndef main_handler(event, context):\n    pass\n",
        "requests/__init__.py": "", "six.py": "", "certifi/__init__.py": "__version__ = '2018.11.29'\n",
        "chardet/__init__.py": "", "chardet/version.py": "__version__ = '3.0.4'\n",
        "requests-2.25.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.1\n",
        "requests-2.25.1.dist-info/top_level.txt": "requests\n",
        "six-1.12.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: six\nVersion: 1.12.0\n",
    })
    report, function = check(root, "Python3.6", cache)
    versions = [(f.module, f.detail, f.expected, f.severity, f.file.name) for f in function.findings
                if f.kind == VERSION]
    assert versions == [("requests", "2.25.1", "2.21.0", WARNING, "METADATA"),  # the dist-info's version
                        ("certifi", "2018.11.29", "2019.3.9", WARNING, "__init__.py")]  # its __version__
    # six 1.12.0 (METADATA) and chardet 3.0.4 (chardet/version.py) are the image's versions
    assert report.exit_code == 0


def _extension(version: str) -> Path:
    """A real compiled stdlib module of that interpreter (its lib-dynload)."""
    path, _ = INTERPRETERS[version]
    folder = Path(path).parent.parent / "lib" / f"python{version}" / "lib-dynload"
    return Path(sorted(glob.glob(str(folder / "_json*.so")))[0])


@needs("3.6", "3.11")
def test_a_compiled_extension_for_another_python_is_a_problem(tmp_path, cache):
    newer = _extension("3.11")  # _json.cpython-311-x86_64-linux-gnu.so
    root = write(tmp_path / "fn", {"index.py": "import fast._speed\ndef main_handler(event, context):\n    pass\n",
                                   "fast/__init__.py": ""})
    shutil.copy(newer, root / "fast" / newer.name.replace("_json", "_speed"))
    report, function = check(root, "Python3.6", cache)
    (binary,) = [f for f in function.findings if f.kind == BINARY]
    assert binary.module == "_speed" and binary.severity == PROBLEM
    assert binary.detail == "built for Python 3.11 (cpython-311-x86_64-linux-gnu)"
    assert binary.file.name == "_speed.cpython-311-x86_64-linux-gnu.so"
    assert found(function, MISSING) == [(MISSING, PROBLEM, "index.py", 1, "fast._speed")]  # no module 3.6 can load
    assert report.exit_code == 1


@needs("3.6")
def test_an_extension_built_for_the_runtime_passes_even_beside_one_for_another_python(tmp_path, cache):
    own = _extension("3.6")
    root = write(tmp_path / "fn", {"index.py": "import _speed\ndef main_handler(event, context):\n    pass\n"})
    shutil.copy(own, root / own.name.replace("_json", "_speed"))
    write(root, {"_speed.cpython-311-x86_64-linux-gnu.so": b"\x7fELF\x02\x01" + bytes(12) + b"\x3e\x00"})
    _, function = check(root, "Python3.6", cache)
    assert function.findings == ()
    assert dict(function.modules) == {"_speed": "code"}


@needs("2.7", "3.6")
def test_a_bare_so_built_for_python2_is_a_problem_on_python3(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": "def main_handler(event, context):\n    import _speed\n"})
    shutil.copy(_extension("2.7"), root / "_speed.so")
    _, on36 = check(root, "Python3.6", cache)
    assert [(f.kind, f.detail) for f in on36.findings if f.kind == BINARY] == [
        (BINARY, "built for Python 2 (it uses Py_InitModule4)")]
    _, on27 = check(root, "Python2.7", cache)
    assert found(on27, BINARY) == []


@needs("3.6")
@pytest.mark.parametrize("name, head, reason", [
    ("m.cpython-36m-darwin.so", b"\xcf\xfa\xed\xfe" + bytes(16), "built for macOS, not Linux x86-64"),
    ("m.so", b"\xcf\xfa\xed\xfe" + bytes(16), "a macOS build (Mach-O)"),
    ("m.cp36-win_amd64.pyd", b"MZ" + bytes(18), "a Windows build (.pyd)"),
    ("m.cpython-36m-aarch64-linux-gnu.so", b"\x7fELF\x02\x01" + bytes(12) + b"\xb7\x00",
     "built for Linux on ARM64 (aarch64), not Linux x86-64"),
    ("m.abi3.so", b"\x7fELF\x02\x01" + bytes(12) + b"\xb7\x00", "built for ARM64 (aarch64), not x86-64"),
    ("m.cpython-36-x86_64-linux-gnu.so", b"\x7fELF\x02\x01" + bytes(12) + b"\x3e\x00",
     "built for a CPython 3.6 with other ABI flags (cpython-36-x86_64-linux-gnu); "
     "the cloud's is cpython-36m-x86_64-linux-gnu"),
])
def test_builds_for_other_platforms_are_named(name, head, reason, tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": "", name: head})
    _, function = check(root, "Python3.6", cache)
    assert [f.detail for f in function.findings] == [reason]


@needs("2.7", "3.6")
def test_abi3_is_accepted_on_python3_and_refused_on_python2(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": "", "m.abi3.so": b"\x7fELF\x02\x01" + bytes(12) + b"\x3e\x00"})
    assert check(root, "Python3.6", cache)[1].findings == ()
    (finding,) = check(root, "Python2.7", cache)[1].findings
    assert "stable ABI (abi3)" in finding.detail


def test_a_runtime_without_an_interpreter_is_not_checked_and_says_why(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": "import os\n"})
    report = audit([Target(root, "Python3.99")], resolve, cache=cache)
    assert "no interpreter for runtime Python3.99" in report.functions[0].unchecked
    assert report.exit_code == 4


@needs("3.6")
def test_what_the_handler_reaches_decides_between_problem_and_warning(tmp_path, cache):
    root = write(tmp_path / "fn", {
        "index.py": "from lib import orders\ndef main_handler(event, context):\n    pass\n",
        "lib/__init__.py": "",
        "lib/orders.py": "from . import pricing\n",
        "lib/pricing.py": "import gone_for_real\n",  # reached through two plain imports: a problem
        "fastyaml/__init__.py": "try:\n    from .cyaml import *\nexcept ImportError:\n    pass\n",
        "fastyaml/cyaml.py": "from _fastyaml import CParser\n",  # reached only under try: a warning
        "fastyaml-1.0.dist-info/METADATA": "Name: fastyaml\nVersion: 1.0\n",
        "compat/__init__.py": "import sys\nif sys.version_info[0] == 2:\n    from .py2 import text\n",
        "compat/py2.py": "import cStringIO\n",  # reached only under a version check: a warning
        "tools/make_release.py": "import fabric\n",  # no handler imports it: a warning
    })
    write(root, {"index.py": "import fastyaml, compat\nfrom lib import orders\n"
                             "def main_handler(event, context):\n    pass\n"})
    report, function = check(root, "Python3.6", cache)
    assert found(function) == [
        (MISSING, WARNING, "py2.py", 1, "cStringIO", "guarded-file"),
        (MISSING, WARNING, "cyaml.py", 1, "_fastyaml", "guarded-file"),
        (MISSING, PROBLEM, "pricing.py", 1, "gone_for_real"),
        (MISSING, WARNING, "make_release.py", 1, "fabric", "unreached"),
    ]
    assert report.exit_code == 1


@needs("3.6")
def test_a_code_folder_without_handlers_starts_from_its_top_level_files(tmp_path, cache):
    root = write(tmp_path / "fn", {"index.py": "import lib.a\n", "lib/__init__.py": "", "lib/a.py": "import gone\n",
                                   "lib/unused.py": "import also_gone\n"})
    _, function = check(root, "Python3.6", cache, handlers=())
    assert found(function) == [(MISSING, PROBLEM, "a.py", 1, "gone"),
                               (MISSING, WARNING, "unused.py", 1, "also_gone", "unreached")]
