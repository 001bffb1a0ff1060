"""The fork-server (instance/forkserver.py, _child.py's zygote): a forked case's process
shows a handler what a spawned one shows, a case a fork cannot serve exactly is spawned,
and a zygote that fails never costs a verdict."""

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (HANDLERS, INTERPRETERS, invoke_once, make_call, needs, python_params, run_scftest,
                      shared_sandbox)
from scftest.instance.forkserver import (ForkServerBackend, startup_differences, startup_items,
                                         startup_declared)
from scftest.instance.sandbox import CASE_PREFIX
from scftest.instance.spawn import SpawnBackend

FORKABLE = ["3.6", "3.10"]  # the seed's 3.6, and the runtime the speed targets name


def sandbox_for(isolation):
    return shared_sandbox("auto" if isolation == "namespace" else "process")


def observe(version, isolation, backend, **overrides):
    spec, request = make_call(version, "observe", "index.main_handler", function_name="observer",
                              **overrides)
    record = invoke_once(spec, request, backend=backend)
    assert record.status == "success", record.log
    assert record.isolation == isolation
    return record


@pytest.mark.parametrize("version", python_params(FORKABLE))
def test_a_forked_process_shows_what_a_spawned_one_shows(isolation, version):
    """Modules loaded, signal handlers, environment, time zone, working directory, open
    descriptors, limits, umask, flags, argv, sys.path, stdio, encodings, gc, ids: alike;
    the random state and the hash seed fresh in both."""
    sandbox = sandbox_for(isolation)
    declared = {"ZZ_DECLARED": "z", "AA_DECLARED": "a"}  # not in the zygote's environment
    with SpawnBackend(sandbox=sandbox) as spawn:
        spawned = [observe(version, isolation, spawn, environment=declared) for _ in range(2)]
    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        forked = [observe(version, isolation, forks, environment=declared) for _ in range(2)]
    assert [r.start for r in spawned] == ["spawn", "spawn"]
    assert [r.start for r in forked] == ["fork", "fork"]
    seen = [dict(r.return_value) for r in spawned + forked]
    randoms = [s.pop("random") for s in seen]
    assert len(set(randoms)) == 4  # each process seeded its own
    hashes = [s.pop("hash") for s in seen]
    assert hashes[0] != hashes[1]  # spawned: a seed each
    assert hashes[2] == hashes[3]  # one zygote generation: one seed (see the recycling test)
    for key in seen[0]:
        assert seen[2][key] == seen[0][key], key
    assert seen[3] == seen[2]
    if isolation == "namespace":  # pid 1 (its parent outside), and the function, pid 2
        assert seen[0]["processes"] == [[1, 0], [2, 1]]
    assert "CapBnd:\t0000000000000000" in seen[0]["capabilities"]


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_forked_instance_is_two_processes_where_a_spawned_one_is_three(version):
    """Forked into a PID namespace of its own, the case's process is the instance's init
    itself: init and the function. Spawned, a bootstrap outside starts the init."""
    sandbox = shared_sandbox()
    if sandbox.isolation() != "namespace" or sandbox.machine().userns or not sandbox.machine().cgroup_bases:
        pytest.skip("needs namespaces made as root, and cgroups (the case's processes are counted there)")
    counts = {}
    for start, backend in (("spawn", SpawnBackend(sandbox=sandbox)),
                           ("fork", ForkServerBackend(SpawnBackend(sandbox=sandbox)))):
        files, real = [], sandbox.spawned

        def spawned(pid, procs=(), _files=files, _real=real):
            _files.extend(procs)
            return _real(pid, procs)

        spec, request = make_call(version, "observe", "index.linger", event={"s": 1.0})
        seen = []
        with backend:
            sandbox.spawned = spawned
            try:
                with backend.start(spec) as instance:
                    runner = threading.Thread(target=lambda i=instance, r=request, out=seen: out.append(i.invoke(r)))
                    runner.start()
                    most = 0
                    while runner.is_alive():
                        for path in list(files):
                            try:
                                with open(path) as handle:
                                    most = max(most, len(handle.read().split()))
                            except OSError:
                                pass
                        time.sleep(0.01)
                    runner.join()
            finally:
                del sandbox.spawned
        assert seen[0].status == "success" and seen[0].start == start, seen[0].log
        counts[start] = most
    assert counts == {"spawn": 3, "fork": 2}


@pytest.mark.parametrize("version", python_params(FORKABLE))
def test_a_forked_case_reports_the_memory_a_spawned_one_does(isolation, version):
    """The record's memory figure counts the function's process (its anonymous memory
    and file-backed pages), never scftest's own (bootstrap, init): forked, where init is
    the case's process itself, as spawned. The pages a fork shares with its zygote are
    counted a little differently (README: within about 1 MB)."""
    sandbox = sandbox_for(isolation)
    figures = {}
    for start, backend in (("spawn", SpawnBackend(sandbox=sandbox)),
                           ("fork", ForkServerBackend(SpawnBackend(sandbox=sandbox)))):
        with backend:
            spec, request = make_call(version, "observe", "index.hold", event={"mb": 40}, memory_mb=256)
            record = invoke_once(spec, request, backend=backend)
        assert record.status == "success" and record.start == start, record.log
        figures[start] = record.max_memory_mb
    assert figures["spawn"] > 40
    assert abs(figures["fork"] - figures["spawn"]) <= 2, figures


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_the_next_cases_process_is_forked_ahead_and_serves_it(isolation, version):
    """After a fork the zygote forks the next case's process at once (a standby, waiting
    for its request); the next case is that process, and it shows what a fork made at
    request time shows (the first test compares those)."""
    sandbox = sandbox_for(isolation)
    started, real = [], sandbox.spawned

    def spawned(pid, procs=()):
        started.append(pid)
        return real(pid, procs)

    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        sandbox.spawned = spawned
        try:
            first = observe(version, isolation, forks)
            zygotes = _zygotes(forks)
            sandbox.reaper.close()  # the first case's process reaped: the standby is left
            standby = _children(zygotes[0])
            ahead = [_children(pid) for pid in standby]
            with open("/proc/%d/cmdline" % standby[0], "rb") as handle:
                shown = handle.read()
            with open("/proc/%d/cgroup" % standby[0]) as handle:
                joined = handle.read()
            built = _mount_points(ahead[0][0]) if ahead[0] else []
            second = observe(version, isolation, forks)
        finally:
            del sandbox.spawned
    assert (first.start, second.start) == ("fork", "fork")
    case_pids = [pid for pid in started if pid not in zygotes]
    assert len(standby) == 1 and case_pids[1] == standby[0]
    if isolation == "namespace" and not sandbox.machine().userns:
        # Pid 1 of its own PID namespace: it is the instance's init, and it has forked the
        # function's process (pid 2) before the request came (_child.py, split_init).
        assert [len(children) for children in ahead] == [1]
        assert b"--zygote" not in shown and b"/proc/self/fd/" in shown, shown
        if sandbox.machine().cgroup_bases:  # the next case's cgroups, joined ahead
            assert CASE_PREFIX in joined, joined
        # The function's process has built what every case shares (_child.py,
        # prepare_ahead): the runner's HOME, /var, /tmp and /dev covered; the case's own
        # code is bound at its request.
        assert {"/var", "/tmp", "/dev"} <= set(built) and "/var/user" not in built, built
    first_seen, second_seen = dict(first.return_value), dict(second.return_value)
    for varying in ("random",):
        first_seen.pop(varying), second_seen.pop(varying)
    assert first_seen == second_seen


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_dropped_standby_leaves_the_cgroups_it_joined_ahead(version):
    """A case whose plan took a zygote's set-aside cgroups but is served by another
    process has that zygote's standby (in those cgroups already) ended first: "drop"
    ends it and waits, so the cgroups list nothing but the case's own processes."""
    sandbox = shared_sandbox()
    if sandbox.isolation() != "namespace" or sandbox.machine().userns or not sandbox.machine().cgroup_bases:
        pytest.skip("needs namespaces made as root, and cgroups (a standby joins them ahead)")
    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        observe(version, "namespace", forks)
        sandbox.reaper.close()
        zygote = _zygotes(forks)[0]
        backend_zygote = [z for z in forks._zygotes.values() if z.pid == zygote][0]
        reserved = backend_zygote.reserved
        assert reserved is not None and _children(zygote), "no standby in set-aside cgroups"
        assert reserved.members(), "the standby did not join the set-aside cgroups ahead"
        backend_zygote.drop()
        assert _children(zygote) == [] and reserved.members() == []
        assert observe(version, "namespace", forks).start == "fork"  # forked at request time


def _mount_points(pid):
    with open(f"/proc/{pid}/mountinfo") as handle:
        return [line.split()[4] for line in handle]


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_standby_built_for_other_plans_starts_over(version, monkeypatch):
    """A standby builds the shared part of the file system from the fork request's
    next_fs; where the case's own plan differs (here /tmp's size), the case leaves it and
    builds its whole file system, and sees what its plan says."""
    sandbox = shared_sandbox()
    if sandbox.isolation() != "namespace" or sandbox.machine().userns:
        pytest.skip("needs namespaces made as root (standbys in PID namespaces of their own)")
    real = sandbox.common_fs
    monkeypatch.setattr(sandbox, "common_fs", lambda limits: dict(real(limits), tmp_bytes=1 << 20))
    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        first = observe(version, "namespace", forks)
        sandbox.reaper.close()
        standby = _children(_zygotes(forks)[0])
        function = _children(standby[0])
        with open(f"/proc/{function[0]}/mountinfo") as handle:
            tmp = [line for line in handle if line.split()[4] == "/tmp"]
        second = observe(version, "namespace", forks)
    assert "size=1024k" in tmp[0], tmp  # what it was asked to build ahead
    assert (first.start, second.start) == ("fork", "fork")
    assert first.return_value["tmp_bytes"] == second.return_value["tmp_bytes"] == 512 << 20
    assert second.return_value["mounts"] == first.return_value["mounts"]


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_standby_whose_build_ahead_fails_serves_its_case_with_nothing_left_open(version, monkeypatch):
    """A /tmp size the kernel refuses makes the standby's build ahead fail halfway (after
    it opened and covered the runner's folders and /var): it starts over, and its case
    builds its own file system, with none of the descriptors the failed build opened."""
    sandbox = shared_sandbox()
    if sandbox.isolation() != "namespace" or sandbox.machine().userns:
        pytest.skip("needs namespaces made as root (standbys in PID namespaces of their own)")
    real = sandbox.common_fs
    monkeypatch.setattr(sandbox, "common_fs", lambda limits: dict(real(limits), tmp_bytes=-1))
    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        records = [observe(version, "namespace", forks) for _ in range(2)]
    assert [r.start for r in records] == ["fork", "fork"]
    first, second = (dict(r.return_value) for r in records)
    assert second["fds"] == first["fds"] and second["mounts"] == first["mounts"]
    assert second["tmp_bytes"] == 512 << 20


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_code_under_the_runners_home_is_found_under_what_a_standby_covered(version):
    """The standby covered the runner's HOME before its request; a case whose code lives
    there is found underneath (through a descriptor opened before covering)."""
    sandbox = shared_sandbox()
    if sandbox.isolation() != "namespace" or str(Path.home()) not in sandbox.common_fs()["hide"]:
        pytest.skip("needs an instance that hides the runner's HOME")
    code = Path(tempfile.mkdtemp(prefix=".scftest-test-", dir=Path.home()))
    try:
        code.chmod(0o755)
        shutil.copytree(HANDLERS / "observe", code / "observe")
        with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
            records = [observe(version, "namespace", forks, code_root=code / "observe") for _ in range(3)]
    finally:
        shutil.rmtree(code)
    assert [r.start for r in records] == ["fork"] * 3
    assert all(r.return_value["cwd"] == "/var/user" for r in records)
    assert records[2].return_value["mounts"] == records[0].return_value["mounts"]


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(p) for p in handle.read().split()]


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_the_hash_seed_changes_with_each_zygote_generation(version):
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox()), recycle_every=2) as forks:
        records = [observe(version, shared_sandbox().isolation(), forks) for _ in range(6)]
        started = forks.started
    hashes = [r.return_value["hash"] for r in records]
    assert [r.start for r in records] == ["fork"] * 6
    assert hashes[0] == hashes[1] and hashes[2] == hashes[3] and hashes[4] == hashes[5]
    assert len({hashes[0], hashes[2], hashes[4]}) == 3
    assert started >= 3


@pytest.mark.parametrize("version", python_params(["2.7"]))
def test_an_interpreter_that_cannot_serve_spawns(version):
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        records = [observe(version, shared_sandbox().isolation(), forks) for _ in range(2)]
        refusals = forks.refusals()
    assert [r.start for r in records] == ["spawn", "spawn"]
    assert [r.interpreter for r in refusals] == [INTERPRETERS["2.7"][0]]
    assert "recvmsg" in refusals[0].reason


@pytest.mark.parametrize("version", python_params(["3.10"]))
@pytest.mark.parametrize("variable", ["TZ", "LANG", "LC_CTYPE", "PYTHONHASHSEED", "PYTHONPATH",
                                      "MALLOC_ARENA_MAX", "LD_LIBRARY_PATH"])
def test_a_start_up_variable_sends_the_case_down_the_spawn_path(version, variable):
    value = {"TZ": "Asia/Shanghai", "LANG": "C", "LC_CTYPE": "C", "PYTHONHASHSEED": "0",
             "PYTHONPATH": "/nowhere", "MALLOC_ARENA_MAX": "2", "LD_LIBRARY_PATH": "/nowhere"}[variable]
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        plain = observe(version, shared_sandbox().isolation(), forks, environment={"OTHER": "1"})
        declared = observe(version, shared_sandbox().isolation(), forks,
                           environment={variable: value})
    assert plain.start == "fork"
    assert declared.start == "spawn"
    assert declared.return_value["environment"][variable] == value


def test_which_variables_a_fresh_process_reads_at_start():
    spec, _ = make_call("3.10" if INTERPRETERS["3.10"] else "3.6", "observe", "index.main_handler",
                        environment={"TZ": "UTC"})
    assert startup_declared(spec)
    assert startup_items({"TZ": "UTC", "PYTHONHASHSEED": "1", "LC_ALL": "C", "A": "1"}) == (
        ("LC_ALL", "C"), ("PYTHONHASHSEED", "1"))
    assert startup_differences(startup_items({"TZ": "UTC", "A": "1", "LC_ALL": "C.UTF-8"}),
                               startup_items({"TZ": "UTC", "A": "2", "LANG": "C"})) == ["LANG", "LC_ALL"]
    assert startup_differences(startup_items({"LANG": "C", "LC_ALL": "C.UTF-8"}),
                               startup_items({"LC_ALL": "C", "LANG": "C"})) == ["LC_ALL"]
    assert startup_differences(startup_items({"PATH": "/bin", "HOME": "/x"}),
                               startup_items({"PATH": "/usr/bin"})) == []


def _zygotes(backend):
    with backend._lock:
        return [z.pid for z in backend._zygotes.values()]


@pytest.mark.parametrize("version", python_params(["3.6", "3.10"]))
def test_a_zygote_killed_while_its_case_runs_costs_no_verdict(isolation, version):
    """The case's answer does not need its zygote (only its exit status does): it counts,
    or, where the function died with its zygote, the case is run again on the spawn
    path. The next case finds the zygote gone and is spawned; the one after that gets a
    new zygote."""
    sandbox = sandbox_for(isolation)

    def victim(sleep):
        spec, request = make_call(version, "hostile", "index.victim", event={"sleep": sleep},
                                  environment={"VICTIM_SECRET": "kept"}, function_name="victim")
        record = invoke_once(spec, request, backend=forks)
        assert record.status == "success", record.log
        assert record.return_value == {"victim": "kep"}
        return record

    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        assert victim(0).start == "fork"  # the zygote is up
        [zygote] = _zygotes(forks)
        killer = threading.Timer(0.2, os.kill, (zygote, signal.SIGKILL))
        killer.start()
        try:
            victim(0.6)
        finally:
            killer.cancel()
        records = [victim(0) for _ in range(2)]
        assert "fork" in [r.start for r in records]
        assert zygote not in _zygotes(forks)


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_warm_instances_are_spawned(version):
    spec, request = make_call(version, "basic", "index.hello")
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        with forks.start(spec, invocations=2) as instance:
            first = instance.invoke(request)
            second = instance.invoke(request)
    assert (first.start, second.start) == ("spawn", "spawn")
    assert (first.cold_start, second.cold_start) == (True, False)


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_no_zygote_outlives_its_backend(version):
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        observe(version, shared_sandbox().isolation(), forks)
        pids = _zygotes(forks)
    assert pids
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.01)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_recycled_zygote_outlives_the_teardowns_held_before_it(version, capsys):
    """A case's teardown (in the sandbox's reaper, after its verdict) reaps the case's
    process through its zygote; recycling the zygote at the next case must not pull it
    away first (a request in flight on a closed socket failed the teardown)."""
    sandbox = shared_sandbox()
    release = threading.Event()
    with ForkServerBackend(SpawnBackend(sandbox=sandbox), recycle_every=1) as forks:
        first = observe(version, sandbox.isolation(), forks)
        retired = _zygotes(forks)
        sandbox.reaper.hold(lambda: [] if release.wait(30) else [], "a slow teardown")
        try:
            second = observe(version, sandbox.isolation(), forks)  # recycles the first zygote
            assert _zygotes(forks) != retired
            assert all(os.path.exists(f"/proc/{pid}") for pid in retired)
        finally:
            release.set()
    assert (first.start, second.start) == ("fork", "fork")
    assert not any(os.path.exists(f"/proc/{pid}") for pid in retired)
    assert "scftest: warning" not in capsys.readouterr().err


REPO = Path(__file__).resolve().parents[2]


@needs("2.7", "3.6", "3.7", "3.9", "3.10")
def test_the_bundled_suites_give_the_same_verdicts_forked_and_fresh(tmp_path):
    verdicts, starts = {}, {}
    for mode, extra in (("forked", ()), ("fresh", ("--fresh",))):
        report = tmp_path / f"{mode}.json"
        result = run_scftest(REPO, "run", "suites/", "-j", "2", "--json", str(report), *extra,
                             timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        cases = json.loads(report.read_text(encoding="utf-8"))["cases"]
        verdicts[mode] = {case["id"]: case["verdict"] for case in cases}
        starts[mode] = {r["start"] for case in cases
                        for r in [case.get("record")] + [s.get("record") for s in case.get("steps") or []]
                        if r}
    assert verdicts["forked"] == verdicts["fresh"]
    assert len(verdicts["fresh"]) > 10
    assert starts["fresh"] == {"spawn"}
    assert "fork" in starts["forked"]


HOSTILE = ["fake_result", "garble_channel", "os_exit", "segfault", "close_channel",
           "fork_and_return", "fork_and_raise", "forge_then_raise", "invalid_utf8", "daemon"]


@pytest.mark.parametrize("version", python_params(["3.6", "3.10"]))
def test_hostile_handlers_get_the_same_record_forked_and_spawned(isolation, version):
    """The same status, code, return value, exit code and signal both ways, and every
    process ended (a daemon too): a fork is contained and ended as a spawned process is."""
    sandbox = sandbox_for(isolation)

    def records(backend):
        found = {}
        for handler in HOSTILE:
            spec, request = make_call(version, "hostile", f"index.{handler}", event={"marker": handler})
            record = invoke_once(spec, request, backend=backend)
            assert "could not kill" not in record.log, (handler, record.log)
            found[handler] = (record.start, record.status, record.status_code, record.return_value,
                              record.exit_code, record.signal, record.error.type if record.error else None)
        return found

    with SpawnBackend(sandbox=sandbox) as spawn:
        spawned = records(spawn)
    with ForkServerBackend(SpawnBackend(sandbox=sandbox)) as forks:
        forked = records(forks)
    for handler in HOSTILE:
        assert spawned[handler][0] == "spawn" and forked[handler][0] == "fork", handler
        assert forked[handler][1:] == spawned[handler][1:], handler


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_a_zygote_holds_none_of_the_declared_variables(version):
    """A zygote outlives the case that started it: the function's own variables (its
    secrets) are never in its environment, only in each forked case's."""
    secret = "zygote-" + os.urandom(8).hex()
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        record = observe(version, shared_sandbox().isolation(), forks,
                         environment={"API_TOKEN": secret}, secrets=(secret,))
        assert record.start == "fork"
        assert f"API_TOKEN={secret}" in record.return_value["shown"]["environ"]  # the case has it
        for pid in _zygotes(forks):
            with open(f"/proc/{pid}/environ", "rb") as handle:
                assert secret.encode() not in handle.read()


@needs("3.6", "3.9", "3.10")
def test_a_worker_keeps_its_most_recently_used_zygotes(monkeypatch):
    from scftest.instance import forkserver

    monkeypatch.setattr(forkserver, "ZYGOTES_PER_WORKER", 2)
    with ForkServerBackend(SpawnBackend(sandbox=shared_sandbox())) as forks:
        for version in ("3.6", "3.9", "3.6", "3.10"):
            assert observe(version, shared_sandbox().isolation(), forks).start == "fork"
        with forks._lock:
            kept = [key[1] for key in forks._zygotes]
        started = forks.started
    assert kept == [INTERPRETERS["3.6"][0], INTERPRETERS["3.10"][0]]  # 3.9's went first
    assert started == 3
