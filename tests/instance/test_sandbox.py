"""Real attacks on the containment, in both isolations (issue 11).

Each test asserts the verdict, what the handler managed, and that nothing it started is
still running (the case's processes carry a marker in their environment; whatever is
found is ended by PID). In ``process`` isolation (no namespaces) some attacks succeed:
those are the fallback's labelled limits, asserted as such, so a change that closes or
opens one is seen. Namespace tests skip, saying why, where the machine cannot make them.
"""

import io
import os
import selectors
import shutil
import threading
import time
import uuid

import pytest
from conftest import (CORE_VERSIONS, HANDLERS, INTERPRETERS, NEWEST, end_processes, invoke_once,
                      make_call, namespaces_or_skip, processes_of, python_params, shared_sandbox)

from scftest.instance import spawn
from scftest.instance.reaper import Reaper
from scftest.instance.sandbox import CASE_PREFIX, Sandbox, _high_water
from scftest.instance.forkserver import ForkServerBackend
from scftest.instance.spawn import SpawnBackend
from scftest.model import UNSET

CORE = python_params(CORE_VERSIONS)


def sandbox_for(isolation):
    return shared_sandbox("strict" if isolation == "namespace" else "process")


def attack(isolation, version, handler, root="hostile", backend=None, **overrides):
    """Runs ``handler`` in ``isolation``; asserts that nothing of it is left running."""
    marker = f"scftest-attack-{uuid.uuid4().hex}"
    environment = dict(overrides.pop("environment", {}), SCFTEST_MARKER=marker)
    spec, request = make_call(version, root, handler, environment=environment, **overrides)
    own = backend or SpawnBackend(sandbox=sandbox_for(isolation))
    try:
        record = invoke_once(spec, request, backend=own)
    finally:
        if backend is None:
            own.close()
        else:  # the case's end, which its verdict did not wait for (reaper.py)
            own.sandbox.reaper.close()
    left = processes_of(marker)
    end_processes(left)
    assert left == [], "processes of the case are still running"
    assert record.isolation == isolation
    return record


# --- the channel and the figures -----------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_a_result_forged_on_the_channel_before_raising_is_a_garbled_crash(isolation, version):
    record = attack(isolation, version, "index.forge_then_raise")
    assert (record.status, record.status_code) == ("crash", 439)
    assert "garbled" in record.error.message and "unexpected 'result' frame" in record.error.message
    assert record.return_value is UNSET and record.ret_msg is None


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_a_forged_result_never_passes_for_a_fast_success(isolation, version):
    # The forged frame claims 0.001 ms and 1 KB; the handler then works 0.3 s and returns.
    record = attack(isolation, version, "index.forge_then_raise", event={"sleep": 0.3})
    assert record.status == "crash" and "garbled" in record.error.message
    # A lower bound time.sleep guarantees, not a speed assertion: load only makes it longer.
    assert record.duration_ms >= 300  # the parent's clock, never the frame's figure
    assert record.max_memory_mb > 1


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_an_answer_whose_channel_a_child_keeps_open_is_a_garbled_crash(isolation, version):
    # The bootstrap closes the channel right after its result; a copy the handler hid in
    # a child could carry one more frame, so the answer is not believed.
    record = attack(isolation, version, "index.hold_channel")
    assert record.status == "crash" and "kept the result channel open" in record.error.message


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_the_wait_for_the_channel_to_close_after_the_result_sleeps(isolation, version, monkeypatch):
    # From the result to the channel's close (here: its allowance, 2 s) no memory poll is
    # taken; one falling due meanwhile once made the watch spin on select(0) until then.
    timeouts = []

    class Counting(selectors.DefaultSelector):
        def select(self, timeout=None):
            timeouts.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(spawn.selectors, "DefaultSelector", Counting)
    record = attack(isolation, version, "index.hold_channel")
    assert "kept the result channel open" in record.error.message
    # A count of wake-ups, not a time: one a memory poll (15 ms) before the result at
    # most, where the spin made tens of thousands in the 2 s after it.
    assert timeouts.count(0) < 1000, f"{timeouts.count(0)} wake-ups without a wait"


# --- the runner and the other cases ----------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_a_signal_to_the_parent_reaches_nothing_in_a_namespace(version):
    namespaces_or_skip()
    record = attack("namespace", version, "index.kill_parent")
    # Its parent is the instance's init: root-owned (EPERM for the function's user) and,
    # as pid 1, deaf to what its namespace sends. The runner (this very test process) is
    # out of reach, and the handler goes on.
    assert record.status == "success"
    assert record.return_value in ("alive, the signal: EPERM", "alive, the signal: sent")


@pytest.mark.parametrize("version", python_params(["3.6", NEWEST]))
def test_another_case_cannot_be_spied_on_or_forged_at_j2(isolation, version):
    secret = "victim-" + uuid.uuid4().hex
    backend = SpawnBackend(sandbox=sandbox_for(isolation))  # shared, as by the -j 2 workers
    results = {}

    def victim():
        results["victim"] = attack(isolation, version, "index.victim", backend=backend,
                                   environment={"VICTIM_SECRET": secret}, secrets=(secret,),
                                   event={"sleep": 2.0})

    thread = threading.Thread(target=victim)
    thread.start()
    try:
        spy = attack(isolation, version, "index.spy", backend=backend, event={"search": 1.5},
                     timeout_s=10)
    finally:
        thread.join()
        backend.close()
    assert spy.status == "success"
    assert spy.return_value["opened"] == [] and spy.return_value["secrets"] == []
    if isolation == "namespace":
        assert spy.return_value["seen"] == 0  # the other case's processes are not visible
    victim_record = results["victim"]
    assert (victim_record.status, victim_record.return_value) == ("success", {"victim": "vic"})


# --- nothing outlives its case -----------------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_a_double_forked_daemon_does_not_outlive_its_case(isolation, version):
    record = attack(isolation, version, "index.daemon")
    assert (record.status, record.return_value) == ("success", "daemonized")


def test_a_processs_high_water_mark_is_read_from_its_status():
    with open("/proc/self/status", "rb") as handle:
        before = int(next(line for line in handle if line.startswith(b"VmHWM:")).split()[1]) * 1024
    # The mark only grows: read after, it is at least the one read before.
    assert before <= _high_water(os.getpid()) < 1 << 40
    assert _high_water(2 ** 22 + 1) == 0  # above pid_max's default: no such process


def _case_cgroups(sandbox):
    """This runner's case cgroups that exist now (any controller)."""
    own = f"{CASE_PREFIX}{os.getpid()}-"
    return sorted(os.path.join(base, name) for base in sandbox.machine().cgroup_bases.values()
                  for name in os.listdir(base) if name.startswith(own))


@pytest.mark.parametrize("start", ["spawn", "fork"])
@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_a_case_ends_off_the_next_cases_way_and_nothing_is_left_at_the_end(
        isolation, version, start, monkeypatch):
    # In a namespace the verdict does not wait for the kernel's teardown (every process
    # has SIGKILL by then): the sandbox's reaper finishes it while the next case runs,
    # and the run's end waits for all. Each case's processes were killed before the next
    # one started; an ended case's empty cgroups serve the next case.
    sandbox = Sandbox("strict" if isolation == "namespace" else "process")
    backend = SpawnBackend(sandbox=sandbox)
    if start == "fork":
        backend = ForkServerBackend(backend)
    markers = [f"scftest-teardown-{uuid.uuid4().hex}" for _ in range(3)]
    at_start, bootstraps = [], []
    real_plan, real_spawned = sandbox.plan, sandbox.spawned

    def plan_and_look(*args, **kwargs):
        at_start.append([processes_of(m) for m in markers])
        return real_plan(*args, **kwargs)

    def spawned(pid, *args):
        bootstraps.append(pid)
        return real_spawned(pid, *args)

    monkeypatch.setattr(sandbox, "plan", plan_and_look)
    monkeypatch.setattr(sandbox, "spawned", spawned)
    deferred = isolation == "namespace" and bool(sandbox.machine().cgroup_bases)
    seen = []
    try:
        for marker in markers:
            spec, request = make_call(version, "hostile", "index.daemon_in_cgroups",
                                      environment={"SCFTEST_MARKER": marker})
            with backend.start(spec) as instance:
                record = instance.invoke(request)
            assert record.status == "success", record.log
            seen.append(tuple(record.return_value))
            assert sandbox.reaper.pending + sandbox.reaper.done >= (1 if deferred else 0)
            sandbox.reaper.close()  # done: the next case gets the emptied cgroups
    finally:
        backend.close()
    left = [pid for m in markers for pid in processes_of(m)]
    end_processes(left)
    assert left == [], "processes of the cases are still running after the run"
    assert sandbox.reaper.pending == 0 and _case_cgroups(sandbox) == []
    # Each case's teardown, and the end of each zygote (after its cases' teardowns).
    zygotes = backend.started if start == "fork" else 0
    assert sandbox.reaper.done == (3 if deferred else 0) + zygotes
    for pid in bootstraps if start == "spawn" else ():  # reaped, not zombies of the runner
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert len(at_start) == 3
    for index, running in enumerate(at_start):
        assert running == [[]] * len(markers), f"case {index + 1} started beside others' processes"
    if sandbox.machine().cgroup_bases:
        if start == "fork" and deferred and not sandbox.machine().userns:
            # A zygote's standby joins the next case's cgroups ahead, while a case runs in
            # its own: two sets take turns (forkserver.py, Zygote.reserved).
            assert seen[0] == seen[2] != seen[1], f"the cgroups did not take turns: {seen}"
        else:
            assert len(set(seen)) == 1, f"each case made cgroups of its own: {seen}"
        assert all(CASE_PREFIX in path for path in seen[0] + seen[1])


FREEZER = "/sys/fs/cgroup/freezer"


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_a_case_whose_processes_cannot_be_ended_is_reported_when_its_teardown_gives_up(version):
    # A process in a frozen (cgroup v1 freezer) group survives SIGKILL until it is thawed:
    # the case's teardown waits its bounded time, then says so on the runner's stderr.
    namespaces_or_skip()
    sandbox = Sandbox("strict")
    if not sandbox.machine().cgroup_bases or not os.access(FREEZER, os.W_OK):
        pytest.skip("needs the case cgroups and a writable cgroup v1 freezer to hold a process")
    marker = f"scftest-frozen-{uuid.uuid4().hex}"
    report = io.StringIO()
    sandbox.reaper = Reaper(report=report)
    backend = SpawnBackend(sandbox=sandbox)
    freezer = os.path.join(FREEZER, f"scftest-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.mkdir(freezer)
    spec, request = make_call(version, "hostile", "index.spawn_and_wait", event={"marker": marker, "sleep": 30})
    records, cancel = [], threading.Event()
    case = threading.Thread(target=lambda: records.append(
        invoke_once(spec, request, cancel=cancel, backend=backend)))
    try:
        case.start()
        while not processes_of(marker):  # until the handler's child is up
            assert case.is_alive()
            time.sleep(0.01)
        [child] = processes_of(marker)
        with open(os.path.join(freezer, "cgroup.procs"), "w") as handle:
            handle.write(str(child))
        with open(os.path.join(freezer, "freezer.state"), "w") as handle:
            handle.write("FROZEN")
        while _read(os.path.join(freezer, "freezer.state")) != "FROZEN":
            time.sleep(0.01)
        cancel.set()  # the case ends now: everything gets SIGKILL, the child stays
        case.join()
        sandbox.reaper.close()  # the teardown gives up after its bounded wait
        warning = report.getvalue()
        assert f"of a case of function {spec.identity.name}" in warning
        assert str(child) in warning and "still running after SIGKILL" in warning
    finally:
        with open(os.path.join(freezer, "freezer.state"), "w") as handle:
            handle.write("THAWED")
        case.join()
        backend.close()
        while processes_of(marker):  # thawed, it dies of the SIGKILL it has pending
            time.sleep(0.01)
        for folder in [freezer] + _case_cgroups(sandbox):
            while os.path.isdir(folder):
                try:
                    os.rmdir(folder)
                except OSError:
                    time.sleep(0.01)
    [record] = records
    assert record.status == "crash" and record.error.type == "Cancelled"


def _read(path):
    with open(path) as handle:
        return handle.read().strip()


@pytest.mark.parametrize("version", python_params(["2.7", NEWEST]))
def test_the_config_is_handed_over_in_memory_and_an_instance_makes_no_folder(
        isolation, version, monkeypatch):
    made = []
    real_mkdtemp = spawn.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):  # a case's folder (not the bootstrap's compile or a probe)
        folder = real_mkdtemp(*args, **kwargs)
        if kwargs.get("prefix") == "scftest-":
            made.append(folder)
        return folder

    monkeypatch.setattr(spawn.tempfile, "mkdtemp", mkdtemp)
    record = attack(isolation, version, "index.echo", root="basic", event={"x": [1, "é"]})
    assert (record.status, record.return_value) == ("success", {"x": [1, "é"]})
    # A plain process's HOME is a folder of the case's own; an instance's is its /tmp.
    assert len(made) == (0 if isolation == "namespace" else 1)
    assert not any(os.path.exists(folder) for folder in made)


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_without_memfd_the_config_goes_through_a_file_that_is_removed(isolation, version, monkeypatch):
    made = []
    real_mkdtemp = spawn.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        folder = real_mkdtemp(*args, **kwargs)
        made.append(folder)
        return folder

    monkeypatch.setattr(spawn, "config_in_memory", lambda config: None)  # a kernel without memfd
    monkeypatch.setattr(spawn.tempfile, "mkdtemp", mkdtemp)
    record = attack(isolation, version, "index.echo", root="basic", event={"y": 2})
    assert (record.status, record.return_value) == ("success", {"y": 2})
    assert made and not any(os.path.exists(folder) for folder in made)


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_an_orphan_that_escapes_the_bootstrap_is_still_ended(isolation, version):
    # The handler turns its bootstrap's subreaper off first: in a plain process the
    # daemon then comes back to the runner (a subreaper too), which ends it.
    record = attack(isolation, version, "index.daemon_unreaped")
    assert (record.status, record.return_value) == ("success", "daemonized")


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_a_fork_bomb_is_that_cases_failure_within_1024_tasks(isolation, version):
    if "pids" not in sandbox_for(isolation).machine().cgroup_bases:
        pytest.skip("no pids cgroup can be made here: a fork bomb would not be limited")
    record = attack(isolation, version, "index.fork_bomb", timeout_s=60, memory_mb=2048)
    assert record.status == "success"
    assert record.return_value["stopped_by"] == "EAGAIN"
    assert 500 < record.return_value["forked"] < 1024  # the cloud's 1024, bootstrap included


# --- files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_the_code_folder_is_read_only_as_in_the_cloud(isolation, version, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(HANDLERS / "hostile", code)
    spec_root = {"code_root": code}
    record = attack(isolation, version, "index.write_code", **spec_root)
    if isolation == "namespace":
        assert record.return_value == "EROFS"
        assert not (code / "written-by-the-handler.txt").exists()
    else:  # labelled limit of a plain process: the host's folder, writable
        assert record.return_value == "written"


@pytest.mark.parametrize("version", python_params(["2.7", NEWEST]))
def test_tmp_is_private_and_full_at_512_mb(version):
    namespaces_or_skip()
    record = attack("namespace", version, "index.fill_tmp", timeout_s=60, memory_mb=128)
    value = record.return_value
    assert record.status == "success"  # /tmp is not the function's memory (not in the cloud either)
    assert value["stopped_by"] == "ENOSPC" and 500 <= value["mb"] <= 512
    assert value["tmp_dev"] != os.stat("/tmp").st_dev
    assert record.max_memory_mb < 100


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_tmp_of_a_plain_process_is_the_hosts(version):
    record = attack("process", version, "index.fill_tmp", event={"limit_mb": 2})
    # Labelled limit: no private /tmp, so nothing caps it at 512 MB.
    assert record.return_value["tmp_dev"] == os.stat("/tmp").st_dev


@pytest.mark.parametrize("version", CORE)
def test_1024_open_files(isolation, version):
    record = attack(isolation, version, "index.open_files")
    assert record.return_value["stopped_by"] == "EMFILE"
    assert 1000 < record.return_value["opened"] < 1024


# --- memory, from the instance's own accounting --------------------------------------------

def _bare_interpreter_kb(version):
    """VmHWM of the bare interpreter (``-S``: no site), as it sits idle (once it says it
    is up: on a busy machine it may not even have started after half a second)."""
    import subprocess

    code = "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(60)"
    proc = subprocess.Popen([INTERPRETERS[version][0], "-S", "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"up\n"
        with open(f"/proc/{proc.pid}/status") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("VmHWM"))
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("version", CORE)
def test_a_trivial_handler_uses_about_what_a_bare_interpreter_does(isolation, version):
    bare_mb = _bare_interpreter_kb(version) / 1024
    first = attack(isolation, version, "index.hello", root="basic")
    ballast = bytearray(300 * 1024 * 1024)  # the runner grows, as with a huge suite
    try:
        second = attack(isolation, version, "index.hello", root="basic")
    finally:
        del ballast
    for record in (first, second):
        assert bare_mb * 0.8 <= record.max_memory_mb <= bare_mb + 6, (bare_mb, record.max_memory_mb)
    assert abs(first.max_memory_mb - second.max_memory_mb) < 2  # never the runner's pages


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_pages_shared_by_forked_children_count_once(isolation, version):
    if "memory" not in sandbox_for(isolation).machine().cgroup_bases:
        pytest.skip("no memory cgroup can be made here: shared pages count in each process")
    record = attack(isolation, version, "index.shared_memory_forks", memory_mb=256,
                    event={"mb": 40, "children": 3})
    assert record.status == "success"
    assert 40 <= record.max_memory_mb < 70  # 40 MB shared by four processes, once


# --- the bootstrap -------------------------------------------------------------------------

@pytest.mark.parametrize("version", python_params(["2.7", NEWEST]))
def test_a_handler_cannot_rewrite_what_later_cases_run(isolation, version, tmp_path, monkeypatch):
    import scftest.instance.bootstrap as bootstrap

    installed = tmp_path / "site-packages" / "_child.py"  # stands in for the installed one
    installed.parent.mkdir()
    installed.write_bytes(bootstrap.CHILD_SCRIPT.read_bytes())
    monkeypatch.setattr(bootstrap, "CHILD_SCRIPT", installed)
    backend = SpawnBackend(sandbox=sandbox_for(isolation))
    try:
        sealed = backend.bootstrap.script(INTERPRETERS[version][0])
        runner_copy = f"/proc/{os.getpid()}/fd/{sealed.fds[0]}"
        attacked = attack(isolation, version, "index.rewrite_bootstrap", backend=backend, event={
            "paths": [runner_copy, str(installed)]})
        # The run's own copy: sealed in the runner's memory, out of reach in both isolations.
        assert attacked.return_value[runner_copy] in ("ENOENT", "EACCES", "EPERM")
        later = attack(isolation, version, "index.hello", root="basic", backend=backend)
        assert (later.status, later.return_value) == ("success", "Hello World")
    finally:
        backend.close()
    if isolation == "namespace":
        # Under the runner's /tmp here: hidden (ENOENT); elsewhere read-only (EROFS).
        assert attacked.return_value[str(installed)] in ("ENOENT", "EROFS")
        assert installed.read_bytes().startswith(b"# -*- coding")
    else:  # labelled limit: a plain process may write what the runner's user may
        assert attacked.return_value[str(installed)] == "rewritten"


# --- how the instance is made ----------------------------------------------------------------

def _probe(plan, python=None, **popen):
    import json
    import subprocess

    from scftest.instance.sandbox import CHILD_SCRIPT

    done = subprocess.run([python or INTERPRETERS[NEWEST][0], "-s", "-E", str(CHILD_SCRIPT),
                           "--probe", json.dumps(plan)], capture_output=True, timeout=60,
                          env={"PATH": os.defpath}, **popen)
    return done.returncode, json.loads(done.stdout.decode().splitlines()[-1])


@pytest.mark.parametrize("version", python_params(["2.7", NEWEST]))
def test_the_tree_is_read_only_by_remounts_where_mount_setattr_is_missing(version, tmp_path):
    from scftest.instance.sandbox import hidden_folders, instance_plan

    namespaces_or_skip()
    machine = shared_sandbox("auto").machine()
    tmp_path.chmod(0o755)
    plan = instance_plan(str(tmp_path), hidden_folders(), machine.function_user, machine.userns)
    plan["readonly_by"] = "remount"  # what a kernel before 5.12 gets
    code, report = _probe(plan, INTERPRETERS[version][0])
    assert code == 0 and report["ok"], report
    assert (report["var_user"], report["etc"], report["tmp"]) == ("EROFS", "EROFS", "yes")
    assert report["capabilities"] == "0000000000000000" and report["pid"] == 2


def test_a_runner_that_is_not_root_gets_a_user_namespace(tmp_path):
    # The system Python, which nobody can run (pyenv's live under root's 0700 HOME).
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.access(python, os.X_OK):
        pytest.skip("needs root (to become nobody) and /usr/bin/python3")
    from scftest.instance.sandbox import instance_plan

    tmp_path.chmod(0o755)
    plan = instance_plan(str(tmp_path), [], None, userns=True)
    code, report = _probe(plan, python, user=65534, group=65534, extra_groups=[])
    if not report.get("ok") and "unshare" in report.get("error", ""):
        pytest.skip(f"unprivileged user namespaces are not allowed here: {report['error']}")
    assert code == 0 and report["ok"], report
    assert (report["uid"], report["pid"]) == (0, 2)  # root inside, nobody outside
    assert report["capabilities"] == "0000000000000000"
    assert (report["var_user"], report["etc"], report["tmp"]) == ("EROFS", "EROFS", "yes")
