"""Isolated imports (issue 12 items 1, 4, 5, 9): a case imports what the cloud would give
it (the standard library, the code folder, the layers, the runtime's image libraries as
provisioned) and nothing of the host's; what nobody provides fails as in the cloud, with
what to do; the record lists each module imported and where it came from.

Everything runs on the real interpreters. Image libraries are provisioned into a cache
of the test's own (XDG_CACHE_HOME), from source distributions the test writes (pip with
no index), never into the user's cache and without the network."""

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import (INTERPRETERS, invoke_once, make_call, needs_pypi, python_params, run_scftest, sdist,
                      shared_sandbox)

from scftest.instance import Interpreter
from scftest.instance.sandbox import IMAGE
from scftest.instance.spawn import SpawnBackend
from scftest.scf import images
from scftest.scf.images_install import Target, provision

VERSIONS = python_params(["2.7", "3.6", "3.10"])
IMAGE_VERSIONS = python_params(["2.7", "3.6"])  # the runtimes whose images have libraries

PROBE = """\
import sys


def main_handler(event, context):
    found = {}
    for name in event["modules"]:
        try:
            module = __import__(name)
            found[name] = getattr(module, "__file__", None) or "yes"
        except ImportError as exc:
            found[name] = "ImportError: %s" % exc
    return found
"""


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def probe(tmp_path: Path, version: str, modules, isolation="auto", interpreter=None, **spec):
    write(tmp_path, {"code/index.py": PROBE})
    overrides = dict(spec, event={"modules": list(modules)})
    if interpreter is not None:
        overrides["interpreter"] = interpreter
    call = make_call(version, str(tmp_path / "code"), "index.main_handler", **overrides)
    with SpawnBackend(sandbox=shared_sandbox(isolation)) as backend:
        record = invoke_once(*call, backend=backend)
    assert record.status == "success", record.log
    return record


def imports_directly(python: str, module: str) -> bool:
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=60)
    return done.returncode == 0


# --- the host's packages stay out ---------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_the_interpreters_own_site_packages_are_not_importable(tmp_path, version, isolation):
    python = INTERPRETERS[version][0]
    assert imports_directly(python, "pip") and imports_directly(python, "setuptools")
    record = probe(tmp_path, version, ["pip", "setuptools", "json"],
                   "strict" if isolation == "namespace" else "process")
    got = record.return_value
    assert got["pip"].startswith("ImportError") and got["setuptools"].startswith("ImportError"), got
    assert not got["json"].startswith("ImportError")


def make_venv(tmp_path: Path, version: str) -> str:
    """A venv of the pyenv Python ``version`` with a package (and a .pth file naming
    another folder) in its site-packages; its python."""
    python = INTERPRETERS[version][0]
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    write(site, {"venv_only/__init__.py": "WHO = 'venv'\n", "extra.pth": f"{tmp_path / 'extra'}\n"})
    write(tmp_path, {"extra/pth_only.py": "WHO = 'pth'\n"})
    return str(venv / "bin" / "python")


@pytest.mark.parametrize("version", python_params(["3.6", "3.10"]))
def test_a_package_in_a_venvs_site_packages_is_not_importable(tmp_path, version, isolation):
    python = make_venv(tmp_path, version)
    assert imports_directly(python, "venv_only") and imports_directly(python, "pth_only")
    interpreter = Interpreter(f"Python{version}", python, INTERPRETERS[version][1])
    record = probe(tmp_path, version, ["venv_only", "pth_only"],
                   "strict" if isolation == "namespace" else "process", interpreter=interpreter)
    assert all(text.startswith("ImportError") for text in record.return_value.values()), record.return_value


# --- provisioned image libraries ------------------------------------------------------

@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CACHE_HOME of the test's own; pip sees only a local folder of source dists."""
    index = tmp_path / "index"
    index.mkdir()
    for runtime in ("Python2.7", "Python3.6"):
        six = images.image(runtime).find("six")
        sdist(index, "six", six.version, {"six.py": f"__version__ = {six.version!r}\n"}, py_modules=["six"])
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    return tmp_path / "xdg"


def provision_six(version: str, cache: Path) -> str:
    runtime = f"Python{version}"
    python, full = INTERPRETERS[version]
    image = images.image(runtime)
    six = image.find("six")
    root = cache / "scftest" / "images"
    [outcome] = provision(Target(image, python, full, root), [six])
    assert outcome.status == "installed", outcome.reason
    return six.version


SUITE = """\
function:
  code: ../code
  handler: index.main_handler
  runtime: {runtime}
cases:
  - name: imports
    event: {{modules: {modules}}}
"""


def run_suite(tmp_path: Path, runtime: str, modules, cache: Path, *args: str, handler=PROBE):
    write(tmp_path, {"code/index.py": handler,
                     "suites/s.yaml": SUITE.format(runtime=runtime, modules=json.dumps(modules))})
    done = run_scftest(tmp_path, "run", "suites", "-v", "--json", "out.json", *args,
                       env_extra={"XDG_CACHE_HOME": str(cache)})
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    return done, report["cases"][0]


@pytest.mark.parametrize("version", IMAGE_VERSIONS)
def test_a_provisioned_image_library_imports_at_the_clouds_version(tmp_path, cache, version, isolation):
    wanted = provision_six(version, cache)
    handler = PROBE.replace("return found", "import six\n    found['version'] = six.__version__\n    return found")
    done, case = run_suite(tmp_path, f"Python{version}", ["six"], cache, "--isolation",
                           "strict" if isolation == "namespace" else "process", handler=handler)
    assert case["verdict"] == "passed", done.stdout + done.stderr
    got = case["record"]["return"]
    assert got["version"] == wanted
    site = images.site_packages(f"Python{version}", cache / "scftest" / "images")
    where = IMAGE if isolation == "namespace" else str(site)
    assert got["six"].startswith(where + "/six.py"), got
    assert {"name": "six", "origin": "image"} in case["record"]["imports"]
    assert {"name": "index", "origin": "code"} in case["record"]["imports"]
    assert "imports: code: index; image: six" in done.stdout


@pytest.mark.parametrize("version", IMAGE_VERSIONS)
def test_the_image_folder_is_a_site_directory_and_read_only(tmp_path, cache, version):
    """Its .pth files are read as site.addsitedir reads them (a folder line, an import
    line); in an instance nothing in it can be written."""
    site = images.site_packages(f"Python{version}", cache / "scftest" / "images")
    write(site, {"extra.pth": "# a comment\nmore\nimport sys; sys.scftest_pth = 'ran'\n",
                 "more/pth_module.py": "WHO = 'pth'\n"})
    handler = PROBE.replace("return found", textwrap.dedent("""\
        found['pth'] = getattr(sys, 'scftest_pth', None)
            try:
                open(%r, 'w')
                found['written'] = 'yes'
            except (IOError, OSError) as exc:
                found['written'] = exc.errno
            return found""") % (IMAGE + "/new.py"))
    done, case = run_suite(tmp_path, f"Python{version}", ["pth_module"], cache, "--isolation", "strict",
                           handler=handler)
    if "cannot be contained here" in done.stdout:
        pytest.skip("this machine cannot make namespaces")
    got = case["record"]["return"]
    assert got["pth_module"] == IMAGE + "/more/pth_module.py" and got["pth"] == "ran", done.stdout
    assert got["written"] == 30  # EROFS


# --- what nobody provides -------------------------------------------------------------

@pytest.mark.parametrize("version", IMAGE_VERSIONS)
def test_an_image_library_not_provisioned_is_an_error_naming_the_command(tmp_path, cache, version):
    handler = "import six\n\ndef main_handler(event, context):\n    return 1\n"
    done, case = run_suite(tmp_path, f"Python{version}", [], cache, handler=handler)
    assert case["verdict"] == "error", done.stdout
    assert case["record"]["status_code"] == 443  # the import failed, as it would without the image
    assert case["summary"].startswith(f"`six` is in the Python{version} image (six ")
    assert f"`scftest image install Python{version} six`" in case["details"]
    assert f"scftest image install Python{version} six" in done.stdout
    assert done.returncode == 1, done.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_a_module_in_no_folder_fails_at_init_and_says_what_to_do(tmp_path, cache, version):
    handler = "import scftest_nowhere_module\n\ndef main_handler(event, context):\n    return 1\n"
    done, case = run_suite(tmp_path, f"Python{version}", [], cache, handler=handler)
    assert case["verdict"] == "failed", done.stdout
    record = case["record"]
    assert record["status_code"] == 443 and record["error"]["type"] in ("ModuleNotFoundError", "ImportError")
    assert f"`scftest_nowhere_module` is not in the Python{version} image: vendor it into the code folder " \
           f"or a layer" in case["details"].replace(" (it has no pre-installed libraries)", "")
    assert "vendor it into the code folder or a layer" in done.stdout


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_the_runners_pythonpath_never_reaches_a_case(tmp_path, cache, version):
    """Nor a PYTHONPATH the suite declares: the function's Python starts with -E."""
    write(tmp_path, {"runner_path/runner_only.py": "WHO = 'runner'\n",
                     "declared_path/declared_only.py": "WHO = 'suite'\n"})
    suite = SUITE.format(runtime=f"Python{version}", modules='["runner_only", "declared_only"]')
    suite = suite.replace("cases:", f"  environment: {{PYTHONPATH: {tmp_path / 'declared_path'}}}\ncases:")
    write(tmp_path, {"code/index.py": PROBE, "suites/s.yaml": suite})
    done = run_scftest(tmp_path, "run", "suites", "--json", "out.json",
                       env_extra={"XDG_CACHE_HOME": str(cache),
                                  "PYTHONPATH": os.pathsep.join([str(tmp_path / "runner_path"),
                                                                 os.environ.get("PYTHONPATH", "")])})
    case = json.loads((tmp_path / "out.json").read_text())["cases"][0]
    got = case["record"]["return"]
    assert got["runner_only"].startswith("ImportError") and got["declared_only"].startswith("ImportError"), \
        done.stdout


SITE_LIKE = """\
import sys


def main_handler(event, context):
    sys.path.append(event["folder"])
    import added_by_handler
    return {"exit": repr(exit), "quit": repr(quit), "help": type(help).__name__,
            "setdefaultencoding": hasattr(sys, "setdefaultencoding"), "no_site": sys.flags.no_site}
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_what_site_gives_is_there_and_a_folder_the_handler_adds_is_other(tmp_path, version):
    write(tmp_path, {"code/index.py": SITE_LIKE, "added/added_by_handler.py": "WHO = 1\n"})
    spec, request = make_call(version, str(tmp_path / "code"), "index.main_handler",
                              event={"folder": str(tmp_path / "added")})
    with SpawnBackend(sandbox=shared_sandbox("process")) as backend:
        record = invoke_once(spec, request, backend=backend)
    assert record.status == "success", record.log
    got = record.return_value
    assert "exit()" in got["exit"] and "quit()" in got["quit"] and got["help"] == "_Helper"
    assert got["setdefaultencoding"] is False and got["no_site"] == 1
    assert ("added_by_handler", "other") in record.imports and ("index", "code") in record.imports


PROTOBUF = """\
import six
from google.protobuf import __version__, json_format  # noqa: F401 (json_format needs six)


def main_handler(event, context):
    import google.protobuf
    return {"protobuf": __version__, "six": six.__version__, "file": google.protobuf.__file__}
"""


@needs_pypi()
@pytest.mark.parametrize("version", python_params(["2.7"]))
def test_the_clouds_protobuf_from_pypi_imports_through_its_pth_file(tmp_path, version):
    """The real table's protobuf 3.6.0 and six 1.11.0, installed by `scftest image install`:
    ``google`` exists only through protobuf-3.6.0-py2.7-nspkg.pth on Python 2.7."""
    cache = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(cache)}
    done = run_scftest(tmp_path, "image", "install", "Python2.7", "protobuf", "six", env_extra=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    site = images.site_packages("Python2.7", cache / "scftest" / "images")
    assert (site / "protobuf-3.6.0-py2.7-nspkg.pth").is_file()
    write(tmp_path, {"code/pb.py": PROTOBUF,
                     "suites/s.yaml": SUITE.format(runtime="Python2.7", modules="[]")
                     .replace("index.main_handler", "pb.main_handler")})
    done = run_scftest(tmp_path, "run", "suites", "-v", "--json", "out.json", env_extra=env)
    case = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["cases"][0]
    assert case["verdict"] == "passed", done.stdout
    got = case["record"]["return"]
    assert (got["protobuf"], got["six"]) == ("3.6.0", "1.11.0")
    inside = IMAGE if case["record"]["isolation"] == "namespace" else str(site)
    assert got["file"].startswith(inside + "/google/protobuf/__init__.py")
    assert "imports: code: pb; image: google, six" in done.stdout
