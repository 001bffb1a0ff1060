"""scftest doctor's mitigations (sandbox.mitigations): each one tried for real on this
machine, and the reason given for each one that cannot be (a platform without memfd, an
interpreter that cannot run the bootstrap, a machine without cgroups or namespaces)."""

import os
import sys

import pytest
from conftest import namespaces_or_skip, shared_sandbox

from scftest.instance.sandbox import PROCESS, MachineIsolation, mitigations

NAMES = ["namespaces", "cgroups", "sealed bootstrap", "parent-death signal", "child subreaper",
         "non-dumpable"]


def by_name(findings):
    return {f.name: f for f in findings}


def test_a_plain_process_gets_every_mitigation_here_each_read_back():
    if not sys.platform.startswith("linux"):
        pytest.skip("the mitigations are Linux prctl(2) settings")
    found = by_name(mitigations(shared_sandbox("process").machine(), PROCESS))
    assert all(name in found for name in NAMES + ["no_new_privs"])
    assert found["namespaces"].state == "none"
    assert found["sealed bootstrap"].state == "yes"
    assert found["parent-death signal"].state == "on the function's process"
    assert found["child subreaper"].state == "the runner and the bootstrap"
    assert found["non-dumpable"].state == "the runner and the function's process"
    assert found["no_new_privs"].state == "on the function's process"


def test_in_a_namespace_init_carries_the_parent_death_signal():
    namespaces_or_skip()
    machine = shared_sandbox("auto").machine()
    found = by_name(mitigations(machine, "auto"))
    assert found["namespaces"].state.startswith("mount, pid, ipc, uts")
    assert found["parent-death signal"].state == "on the instance's init"
    assert found["child subreaper"].state == "not needed"
    assert found["cgroups"].state == ", ".join(c for c in ("pids", "memory") if c in machine.cgroup_bases)


def test_without_memfd_the_bootstrap_runs_from_disk_and_doctor_says_why(monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)
    found = by_name(mitigations(shared_sandbox("process").machine(), PROCESS))
    assert found["sealed bootstrap"].state == "no"
    assert "no memfd_create here" in found["sealed bootstrap"].why


def test_an_interpreter_that_cannot_run_the_bootstrap_gets_a_reason_for_each(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'not a python' >&2\nexit 1\n")
    fake.chmod(0o755)
    found = by_name(mitigations(shared_sandbox("process").machine(), PROCESS, python=str(fake)))
    assert found["sealed bootstrap"].state == "no"
    assert found["sealed bootstrap"].why == f"the bootstrap file is run from disk: {fake} could not compile it"
    for name in ("parent-death signal", "no_new_privs"):
        assert found[name].state == "no"
        assert found[name].why == "the bootstrap could not set it: not a python"


def test_a_machine_without_cgroups_or_namespaces_says_why():
    machine = MachineIsolation(False, "namespaces cannot be made here: unshare: EPERM", True, None,
                               {}, {"pids": "no cgroup v1 pids controller is mounted",
                                    "memory": "cannot make a cgroup in /x: Permission denied"})
    found = by_name(mitigations(machine, "auto"))
    assert (found["namespaces"].state, found["namespaces"].why) == (
        "none", "namespaces cannot be made here: unshare: EPERM")
    assert found["cgroups"].state == "none"
    assert found["cgroups"].why == ("no pids: no cgroup v1 pids controller is mounted; "
                                    "no memory: cannot make a cgroup in /x: Permission denied")
    assert found["parent-death signal"].state != "on the instance's init"  # a plain process's


def test_doctor_exits_4_under_strict_where_cases_cannot_be_contained(monkeypatch, capsys):
    from scftest.cli import main
    from scftest.instance import sandbox

    def no_namespaces(python=None):
        return MachineIsolation(False, "namespaces cannot be made here: (test)", False, None)

    monkeypatch.setattr(sandbox, "probe_machine", no_namespaces)
    assert main(["doctor", "--isolation", "strict"]) == 4
    out = capsys.readouterr().out
    assert out.startswith("isolation: none (strict)\n    namespaces cannot be made here: (test)\n")
    assert "\nnamespaces: none\n" in out
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.startswith("isolation: process\n")


def test_doctor_says_which_runtimes_fork_their_cases_and_why_the_others_spawn(capsys):
    # Tried for real: a zygote is started for each runtime found, as a run starts one.
    from conftest import INTERPRETERS

    from scftest.cli import main

    if "2.7" not in INTERPRETERS and "3.10" not in INTERPRETERS:
        pytest.skip("needs Python 2.7 or 3.10 under pyenv")
    main(["doctor"])
    out = capsys.readouterr().out
    if "2.7" in INTERPRETERS:  # no socket.recvmsg: it cannot take a case's descriptors
        assert ("fork-server (Python2.7): spawns every case\n"
                "    this Python cannot receive file descriptors (socket.recvmsg with SCM_RIGHTS)\n") in out
    if "3.10" in INTERPRETERS:
        assert "fork-server (Python3.10): forks each case from a zygote\n" in out
