"""scftest image install / list: provisioning on the real interpreters, with pip.

Most tests install small source distributions this test writes into a local folder
(PIP_NO_INDEX + PIP_FIND_LINKS), so they need no network. The few that install from the
real table at the cloud's versions need PyPI and skip, saying so, when it is unreachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INTERPRETERS, needs_pypi, python_params, sdist

from scftest.scf import images
from scftest.scf.images import Image, Library
from scftest.scf.images_install import (
    Target,
    installed_version,
    pip_command,
    pip_environment,
    pip_reason,
    provision,
)


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds only what this folder holds: no network, no index."""
    index = tmp_path / "index"
    index.mkdir()
    sdist(index, "scf-fake-one", "1.0", {"fakens/__init__.py": "", "fakens/one.py": "WHO = 'one'\n"}, ["fakens"])
    sdist(index, "scf-fake-two", "2.0", {"fakens/__init__.py": "", "fakens/two.py": "WHO = 'two'\n"}, ["fakens"])
    sdist(index, "scf-fake-ren", "3.1", {"renpkg/__init__.py": "from .core import VALUE\n",
                                         "renpkg/core.py": "VALUE = 31\n"}, ["renpkg"])
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_TARGET", str(tmp_path / "elsewhere"))  # must not send the files there
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "runner-only"))  # must not reach the old interpreter
    return index


FAKE = Image("Python3.6", "this test", (
    Library("scf-fake-one", "1.0", ("fakens.one",), requirement="scf-fake-one==1.0"),
    Library("scf-fake-two", "2.0", ("fakens.two",), requirement="scf-fake-two==2.0"),
    Library("scf-fake-ren", "3.1", ("renpkg_v2",), requirement="scf-fake-ren==3.1",
            rename=("renpkg", "renpkg_v2")),
    Library("scf-fake-missing", "9.9", ("missing",), requirement="scf-fake-missing==9.9"),
    Library("scf-fake-py2only", None, ("old",), unavailable="Python 2 only"),
))


def target(version: str, root: Path) -> Target:
    path, full = INTERPRETERS[version]
    return Target(Image(f"Python{version}", FAKE.source, FAKE.libraries), path, full, root)


def run_python(version: str, site: Path, code: str) -> str:
    path, _ = INTERPRETERS[version]
    done = subprocess.run([path, "-S", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("version", python_params(["2.7", "3.6"]))
def test_provisions_each_library_and_reports_the_one_that_fails(version, tmp_path, local_index):
    lines = []
    outcomes = provision(target(version, tmp_path / "cache"), FAKE.libraries,
                         on_start=lambda i, n, lib: lines.append(f"start {i}/{n} {lib.name}"),
                         on_done=lambda o: lines.append(f"done {o.library.name} {o.status}"))
    status = {o.library.name: o.status for o in outcomes}
    assert status == {"scf-fake-one": "installed", "scf-fake-two": "installed", "scf-fake-ren": "installed",
                      "scf-fake-missing": "failed", "scf-fake-py2only": "unavailable"}
    assert lines[:2] == ["start 1/5 scf-fake-one", "done scf-fake-one installed"] and len(lines) == 10
    failed = next(o for o in outcomes if o.status == "failed")
    assert "scf-fake-missing==9.9" in failed.reason and "Traceback" not in failed.reason
    assert not (tmp_path / "elsewhere").exists()

    site = images.site_packages(f"Python{version}", tmp_path / "cache")
    # both libraries of one namespace are there, and the renamed package imports under its new name only
    assert run_python(version, site, "import fakens.one, fakens.two; print(fakens.one.WHO + fakens.two.WHO)") == "onetwo"
    assert run_python(version, site, "import renpkg_v2; print(renpkg_v2.VALUE)") == "31"
    assert not (site / "renpkg").exists()

    manifest = images.read_manifest(f"Python{version}", tmp_path / "cache")
    assert manifest.interpreter == INTERPRETERS[version][0]
    assert {key: p.version for key, p in manifest.packages.items()} == {
        "scf-fake-one": "1.0", "scf-fake-two": "2.0", "scf-fake-ren": "3.1"}
    assert manifest.packages["scf-fake-one"].imports == ("fakens.one",)
    assert "scf-fake-missing==9.9" in manifest.failed["scf-fake-missing"]


@pytest.mark.parametrize("version", python_params(["3.6"]))
def test_a_second_install_keeps_what_is_there_and_force_reinstalls(version, tmp_path, local_index):
    first = provision(target(version, tmp_path), FAKE.libraries[:1])
    assert [o.status for o in first] == ["installed"]
    again = provision(target(version, tmp_path), FAKE.libraries[:2])
    assert [o.status for o in again] == ["already", "installed"]
    forced = provision(target(version, tmp_path), FAKE.libraries[:1], force=True)
    assert [o.status for o in forced] == ["installed"]
    site = images.site_packages("Python3.6", tmp_path)
    assert run_python(version, site, "import fakens.one, fakens.two; print('ok')") == "ok"
    assert not (tmp_path / "Python3.6" / "site-packages.new").exists()
    assert not (tmp_path / "Python3.6" / "staging").exists()


@pytest.mark.parametrize("version", python_params(["3.6"]))
def test_a_version_other_than_the_clouds_is_refused(version, tmp_path, local_index):
    # The file is scf-fake-two 2.0; a table saying 2.1 but asking pip for 2.0 must not pass as provisioned.
    wrong = Library("scf-fake-two", "2.1", ("fakens.two",), requirement="scf-fake-two==2.0")
    [outcome] = provision(Target(Image("Python3.6", "t", (wrong,)), INTERPRETERS[version][0], "3.6", tmp_path),
                          [wrong])
    assert outcome.status == "failed"
    assert outcome.reason == "pip installed scf-fake-two 2.0, not the cloud's 2.1"
    assert images.read_manifest("Python3.6", tmp_path).packages == {}


@pytest.mark.parametrize("version", python_params(["3.6"]))
def test_a_wrong_import_name_is_a_warning(version, tmp_path, local_index):
    typo = Library("scf-fake-one", "1.0", ("fakens.uno",), requirement="scf-fake-one==1.0")
    [outcome] = provision(Target(Image("Python3.6", "t", (typo,)), INTERPRETERS[version][0], "3.6", tmp_path),
                          [typo])
    assert outcome.status == "installed"
    assert outcome.warnings == ("it has no module 'fakens.uno': scftest's table may be wrong (please report it)",)


def test_an_interpreter_that_cannot_run_is_a_failure_not_a_crash(tmp_path):
    [outcome] = provision(Target(FAKE, str(tmp_path / "no-python"), "3.6.0", tmp_path), FAKE.libraries[:1])
    assert outcome.status == "failed" and "cannot run" in outcome.reason


# ---------------------------------------------------------------------------------------
# pip's reasons and how pip is run.

PIP18_BUILD = """\
Collecting mysqlclient==1.3.13
    Complete output from command python setup.py egg_info:
    Traceback (most recent call last):
      File "/tmp/pip-install-t5/mysqlclient/setup_posix.py", line 28, in mysql_config
        raise EnvironmentError("%s not found" % (mysql_config.path,))
    OSError: mysql_config not found

    ----------------------------------------
Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-install-t5/mysqlclient/
"""
PIP19_NO_VERSION = """\
Collecting six==0.0.999
  ERROR: Could not find a version that satisfies the requirement six==0.0.999 (from versions: 1.11.0, 1.12.0)
ERROR: No matching distribution found for six==0.0.999
"""
PIP19_COMPILER = """\
    Running setup.py install for pygpgme: finished with status 'error'
    ERROR: Command errored out with exit status 1:
    src/pygpgme.h:24:10: fatal error: gpgme.h: No such file or directory
       24 | #include <gpgme.h>
    compilation terminated.
    error: command 'gcc' failed with exit status 1
ERROR: Command errored out with exit status 1: /usr/bin/python -u -c 'import sys, setuptools' install Check the logs
"""
PIP23_NETWORK = """\
WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError': /simple/six/
ERROR: Could not find a version that satisfies the requirement six==1.12.0 (from versions: none)
ERROR: No matching distribution found for six==1.12.0
"""


@pytest.mark.parametrize("output, reason", [
    (PIP18_BUILD, "OSError: mysql_config not found"),
    (PIP19_COMPILER, "src/pygpgme.h:24:10: fatal error: gpgme.h: No such file or directory"),
    (PIP19_NO_VERSION, "Could not find a version that satisfies the requirement six==0.0.999 "
                       "(from versions: 1.11.0, 1.12.0)"),
    (PIP23_NETWORK, "Could not find a version that satisfies the requirement six==1.12.0 (from versions: none)"),
    ("ERROR: Could not find a version that satisfies the requirement t==3.0.65 (from versions: "
     + ", ".join(f"3.0.{n}" for n in range(351, 999)) + ")\n",
     "Could not find a version that satisfies the requirement t==3.0.65 "
     "(from versions: 3.0.351, 3.0.352, 3.0.353, … 3.0.996, 3.0.997, 3.0.998)"),
    ("something odd\nand its last line\n", "and its last line"),
    ("", "pip exited with status 1 and printed nothing"),
    ("/usr/bin/python3.6: No module named pip\n", "this interpreter has no pip: install it with "
                                                   "`python -m ensurepip` (or your system's python3-pip)"),
])
def test_pip_reason(output, reason):
    assert pip_reason(output) == reason


def test_pip_is_the_interpreters_own_without_dependencies(tmp_path):
    library = images.image("Python3.6").find("serverless-db-sdk")
    assert pip_command("/py36", library, tmp_path) == [
        "/py36", "-s", "-m", "pip", "install", "--no-deps", "--target", str(tmp_path), "serverless-db-sdk==0.0.6"]
    env = pip_environment({"PIP_INDEX_URL": "https://mirror/simple", "PIP_TARGET": "/x", "PIP_USER": "1",
                           "PYTHONPATH": "/runner", "HTTPS_PROXY": "http://proxy:3128"})
    assert env["PIP_INDEX_URL"] == "https://mirror/simple" and env["HTTPS_PROXY"] == "http://proxy:3128"
    assert "PIP_TARGET" not in env and "PIP_USER" not in env and "PYTHONPATH" not in env
    assert env["PIP_DISABLE_PIP_VERSION_CHECK"] == "1" and env["PYTHONIOENCODING"] == "utf-8"


def test_installed_version_reads_dist_info_and_egg_info(tmp_path):
    (tmp_path / "six-1.12.0.dist-info").mkdir()
    (tmp_path / "six-1.12.0.dist-info" / "METADATA").write_text("Name: six\nVersion: 1.12.0\n")
    (tmp_path / "serverless_db_sdk-0.0.1-py3.6.egg-info").mkdir()
    (tmp_path / "serverless_db_sdk-0.0.1-py3.6.egg-info" / "PKG-INFO").write_text("Version: 0.0.1\n")
    (tmp_path / "dicttoxml-1.7.4-py2.7.egg-info").write_text("Metadata-Version: 1.0\nVersion: 1.7.4\n")
    assert installed_version(tmp_path, "six") == "1.12.0"
    assert installed_version(tmp_path, "serverless-db-sdk") == "0.0.1"
    assert installed_version(tmp_path, "dicttoxml") == "1.7.4"  # old pips write egg-info as a file
    assert installed_version(tmp_path, "numpy") is None


# ---------------------------------------------------------------------------------------
# The command line.

def scftest(tmp_path: Path, *args: str, env: dict = None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), NO_COLOR="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=600)


def test_list_every_runtime(tmp_path):
    done = scftest(tmp_path, "image", "list")
    assert done.returncode == 0, done.stderr
    for runtime in images.runtimes():
        assert f"\n{runtime}: " in "\n" + done.stdout
    assert "Python3.9: no pre-installed libraries" in done.stdout
    assert "Pillow *" not in done.stdout and "serverless-db-sdk *" in done.stdout  # a row with a note
    row = next(line for line in done.stdout.splitlines() if line.startswith("Pillow "))
    assert row.split() == ["Pillow", "6.0.0", "PIL", "no"]


@pytest.mark.parametrize("argv, message", [
    (["image", "list", "Python3.8"], "'Python3.8' is not a runtime SCF offers"),
    (["image", "install", "Python3.6", "numpi"], "did you mean 'numpy'?"),
    (["image", "install", "Python3.9", "numpy"], "the Python3.9 image has no pre-installed libraries"),
    (["image"], "image needs an action"),
    (["image", "install", "Python3.6", "six", "--runtime", "Python3.6=/nonexistent/python"], "is unusable"),
])
def test_usage_errors(tmp_path, argv, message):
    done = scftest(tmp_path, *argv)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not INTERPRETERS["3.6"], reason="needs Python 3.6 under pyenv")
def test_install_that_cannot_reach_its_package_says_why_and_exits_1(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = scftest(tmp_path, "image", "install", "Python3.6", "six", "--runtime",
                   f"Python3.6={INTERPRETERS['3.6'][0]}",
                   env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[1/1] six 1.12.0 ... FAILED: Could not find a version that satisfies the requirement six==1.12.0" \
        in done.stdout
    assert "1 FAILED" in done.stdout
    listed = scftest(tmp_path, "image", "list", "Python3.6").stdout
    assert "no (last try: Could not find a version" in next(line for line in listed.splitlines()
                                                            if line.startswith("six "))


PYPI = needs_pypi()


@PYPI
@pytest.mark.skipif(not INTERPRETERS["3.6"], reason="needs Python 3.6 under pyenv")
def test_provision_six_of_the_python36_table_from_pypi(tmp_path):
    python = INTERPRETERS["3.6"][0]
    done = scftest(tmp_path, "image", "install", "Python3.6", "six", "--runtime", f"Python3.6={python}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[1/1] six 1.12.0 ... installed" in done.stdout
    site = tmp_path / "cache" / "scftest" / "images" / "Python3.6" / "site-packages"
    assert (site / "six.py").is_file()
    assert run_python("3.6", site, "import six; print(six.__version__, six.__file__)") == \
        f"1.12.0 {site / 'six.py'}"
    manifest = json.loads((site.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["packages"]["six"]["version"] == "1.12.0"
    assert manifest["packages"]["six"]["imports"] == ["six"]
    row = next(line for line in scftest(tmp_path, "image", "list", "Python3.6").stdout.splitlines()
               if line.startswith("six "))
    assert row.split() == ["six", "1.12.0", "six", "yes"]
    again = scftest(tmp_path, "image", "install", "Python3.6", "six", "--runtime", f"Python3.6={python}")
    assert "[1/1] six 1.12.0 ... already provisioned" in again.stdout and again.returncode == 0


def test_install_for_a_runtime_without_libraries_has_nothing_to_do(tmp_path):
    done = scftest(tmp_path, "image", "install", "Python3.10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Python3.10: no pre-installed libraries")
    assert not (tmp_path / "cache").exists()
