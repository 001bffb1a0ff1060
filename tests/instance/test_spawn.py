"""The spawn backend against hostile handlers, on Python 2.7, 3.6 and the newest present.

Every test checks that the runner survives, that the status is right, and that nothing
the handler started is still running (each invocation's processes carry a unique
function name in their environment, which /proc shows).
"""

import json
import os
import threading
import time
import uuid
from dataclasses import replace

import pytest
from conftest import (CORE_VERSIONS, INTERPRETERS, NEWEST, invoke_once, make_call,
                      processes_of, python_params, seen_root)

from scftest.instance import CANCELLED, InstanceError, Interpreter
from scftest.instance.logcapture import LogCapture
from scftest.instance.observed import event_size
from scftest.instance.spawn import SpawnBackend
from scftest.model import UNSET
from scftest.scf.environment import Host

CORE = python_params(CORE_VERSIONS)


def run(version, handler, root="hostile", **overrides):
    spec, request = make_call(version, root, handler, **overrides)
    record = invoke_once(spec, request)
    assert processes_of(spec.identity.name) == [], "processes left running"
    return record


# --- hostile handlers ------------------------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_output_that_looks_like_a_result_is_only_log(version):
    record = run(version, "index.fake_result")
    assert record.status == "error"
    assert record.error.type == "ValueError" and record.error.message == "the real outcome"
    assert "SCFT result 40" in record.log and '"return": "forged"' in record.log
    assert record.return_value is UNSET


@pytest.mark.parametrize("version", CORE)
def test_garbled_channel_is_a_crash_that_says_so(version):
    record = run(version, "index.garble_channel")
    assert record.status == "crash" and record.status_code == 439
    assert "garbled" in record.error.message
    assert record.return_value is UNSET


@pytest.mark.parametrize("version", CORE)
def test_closed_channel_is_a_crash(version):
    record = run(version, "index.close_channel")
    assert record.status == "crash"
    assert "closed the result channel" in record.error.message


@pytest.mark.parametrize("version", CORE)
def test_os_exit_is_a_crash_with_the_exit_code(version):
    record = run(version, "index.os_exit")
    assert (record.status, record.status_code, record.exit_code, record.signal) == (
        "crash", 439, 3, None)
    assert "exited with code 3" in record.error.message
    assert "bye" in record.log


@pytest.mark.parametrize("version", CORE)
def test_sigsegv_is_a_crash_with_the_signal_name(version):
    record = run(version, "index.segfault")
    assert (record.status, record.signal, record.exit_code) == ("crash", "SIGSEGV", None)
    assert "SIGSEGV" in record.error.message


@pytest.mark.parametrize("version", CORE)
def test_sys_exit_in_the_handler_is_a_crash(version):
    record = run(version, "index.sys_exit", root="basic")
    assert (record.status, record.exit_code) == ("crash", 0)


@pytest.mark.parametrize("version", CORE)
@pytest.mark.parametrize("handler", ["index.loop", "index.swallow"])
def test_endless_loop_times_out(version, handler):
    started = time.monotonic()
    record = run(version, handler, timeout_s=1)
    assert time.monotonic() - started < 5
    assert (record.status, record.status_code) == ("timeout", 433)
    assert record.error.message == "Invoking task timed out after 1 seconds"
    assert 1000 <= record.duration_ms < 2500  # generous: the machine may be busy
    assert "ERROR RequestId:" in record.log and "timed out after 1 seconds" in record.log


@pytest.mark.parametrize("version", CORE)
def test_timeout_kills_children_grandchildren_and_setsid_escapees(version):
    marker = f"scftest-marker-{uuid.uuid4().hex}"
    record = run(version, "index.loop_with_children", timeout_s=1, event={"marker": marker})
    assert record.status == "timeout"
    assert processes_of(marker) == []


@pytest.mark.parametrize("version", CORE)
def test_processes_left_by_a_successful_handler_are_killed(version):
    marker = f"scftest-marker-{uuid.uuid4().hex}"
    record = run(version, "index.spawn_and_return", event={"marker": marker})
    assert (record.status, record.return_value, record.exit_code) == ("success", "spawned", 0)
    assert processes_of(marker) == []


FORK_LOOP = """
import os, sys, time
while True:  # a process group that never stops growing
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    time.sleep(0.002)
"""


def test_one_scan_kills_a_group_that_forks_while_it_is_killed():
    # All in the bootstrap's group: kill() scans once and relies on killpg, which also
    # reaches a child forked while the signal is sent.
    import subprocess

    from scftest.instance.proctree import ProcessTree

    marker = f"scftest-marker-{uuid.uuid4().hex}"
    proc = subprocess.Popen([INTERPRETERS[NEWEST][0], "-c", FORK_LOOP, marker],
                            start_new_session=True)
    try:
        tree = ProcessTree(proc.pid)
        deadline = time.monotonic() + 30  # a group that is still growing, however busy the machine
        while len(processes_of(marker)) <= 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(processes_of(marker)) > 10
        assert tree.kill() == []
        proc.wait(5)
        assert processes_of(marker) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.mark.parametrize("version", CORE)
def test_a_forked_process_returning_from_the_handler_is_not_the_result(version):
    record = run(version, "index.fork_and_return")
    assert (record.status, record.return_value) == ("success", "forked")


@pytest.mark.parametrize("version", CORE)
def test_a_forked_process_raising_from_the_handler_is_not_the_result(version):
    record = run(version, "index.fork_and_raise")
    assert (record.status, record.return_value) == ("success", "parent")


@pytest.mark.parametrize("version", CORE)
def test_memory_hog_is_stopped(version):
    record = run(version, "index.memory_hog", memory_mb=128, timeout_s=10)
    assert (record.status, record.status_code) == ("memory_exceeded", 434)
    assert record.error.message.startswith("Task memory exceeded 128 MB")
    assert record.max_memory_mb > 100


@pytest.mark.parametrize("version", CORE)
def test_memory_of_child_processes_counts(version):
    marker = f"scftest-marker-{uuid.uuid4().hex}"
    record = run(version, "index.memory_hog_child", memory_mb=128, timeout_s=10,
                 event={"marker": marker})
    assert record.status == "memory_exceeded"
    assert processes_of(marker) == []


def error_line(record):
    start = f"ERROR RequestId:{record.request_id} Result:"
    (line,) = [line for line in record.log.splitlines() if line.startswith(start)]
    return line[len(start):].strip()


@pytest.mark.parametrize("version", CORE)
def test_a_timeout_result_is_plain_text_and_an_exit_is_shaped_with_439(version):
    timeout = run(version, "index.loop", timeout_s=1)
    assert timeout.error_result == "Invoking task timed out after 1 seconds" == error_line(timeout)
    crash = run(version, "index.os_exit")
    result = json.loads(crash.error_result)
    assert result == {"errorCode": -1, "errorMessage": crash.error.message, "requestId": crash.request_id,
                      "statusCode": 439}
    assert error_line(crash) == crash.error_result


def event_of(size):
    """An event whose compact JSON ({"d":"xx..."}) is ``size`` bytes."""
    return {"d": "x" * (size - 8)}


def test_the_event_size_is_its_compact_utf8_json():
    assert event_size(event_of(100)) == 100
    assert event_size({"a": [1, 2], "b": None}) == len('{"a":[1,2],"b":null}')
    assert event_size({"d": "é"}) == 10 and event_size({"d": "\U0001F600"}) == 12
    assert event_size({"d": "\ud800"}) == 11  # a lone surrogate (from a YAML escape): its 3 bytes


@pytest.mark.parametrize("invocation, limit", [("sync", 6 * 1024 * 1024), ("async", 128 * 1024)])
def test_an_event_over_the_limit_is_refused_with_406_before_any_process_starts(invocation, limit):
    """The interpreter does not exist: starting any process would fail the invocation."""
    spec, request = make_call(NEWEST, "basic", "index.echo", event=event_of(limit + 1), invocation=invocation)
    spec = replace(spec, interpreter=Interpreter(spec.runtime, "/nonexistent/python", "3.10.0"))
    record = invoke_once(spec, request)
    assert (record.status, record.status_code) == ("error", 406)
    assert (record.error.type, record.error.qualified_type) == ("RequestTooLarge", "scf.RequestTooLarge")
    assert record.error.message == (f"the request event is {limit + 1} bytes as JSON, over SCF's limit of "
                                    f"{limit} bytes ({limit // 1024} KB) for a{'n' if invocation == 'async' else ''} "
                                    f"{invocation} invocation; the function was not run")
    assert json.loads(record.error_result) == {"errorCode": -1, "errorMessage": record.error.message,
                                               "requestId": request.request_id, "statusCode": 406}
    assert (record.log, record.duration_ms, record.exit_code, record.return_value) == ("", 0.0, None, UNSET)


@pytest.mark.parametrize("version", CORE)
def test_an_event_at_the_limit_runs(version):
    record = run(version, "index.echo", root="basic", event=event_of(128 * 1024), invocation="async")
    assert record.status_code == 200
    record = run(version, "index.echo", root="basic", event={"d": "é" * (64 * 1024 - 2)}, invocation="async")
    assert record.status_code == 406  # 4 bytes over: the limit counts UTF-8 bytes, not characters


@pytest.mark.parametrize("version", CORE)
def test_a_memory_error_the_handler_raises_is_an_exception(version):
    """Tencent's runtime catches it like any exception: 430, not the platform's 434."""
    record = run(version, "index.raises_memory_error", root="basic")
    assert (record.status, record.status_code, record.error.type) == ("error", 430, "MemoryError")
    assert json.loads(record.error_result)["errorMessage"] == "user code exception caught"


@pytest.mark.parametrize("version", CORE)
def test_an_allocation_past_the_address_space_net_is_memory_exceeded(version):
    record = run(version, "index.allocate_past_the_net")
    assert (record.status, record.status_code) == ("memory_exceeded", 434)
    assert record.error.message == "Task memory exceeded 128 MB (MemoryError)"
    assert json.loads(record.error_result) == {"errorCode": -1, "errorMessage": "Task memory exceeded 128 MB",
                                               "statusCode": 434}


@pytest.mark.parametrize("version", CORE)
def test_50_mb_of_log_is_capped_with_a_marker(version):
    record = run(version, "index.huge_log")
    assert (record.status, record.return_value) == ("success", "done")
    assert record.log_truncated_bytes > 40 * 1024 * 1024
    assert len(record.log) < 5 * 1024 * 1024
    assert f"[scftest: {record.log_truncated_bytes} bytes of log cut here" in record.log
    assert record.log.rstrip().splitlines()[-1].startswith("Report RequestId:")


@pytest.mark.parametrize("version", CORE)
def test_invalid_utf8_is_replaced(version):
    record = run(version, "index.invalid_utf8")
    assert record.status == "success"
    assert "before \ufffd\ufffd\ufffd after" in record.log


@pytest.mark.parametrize("version", CORE)
def test_stdin_is_empty(version):
    record = run(version, "index.read_stdin", root="basic", timeout_s=2)
    assert (record.status, record.return_value) == ("success", "")


# --- environment and secrets -----------------------------------------------------------

@pytest.mark.parametrize("version", CORE)
def test_the_runner_environment_does_not_leak(version, monkeypatch):
    monkeypatch.setenv("SCFTEST_FAKE_CI_SECRET", "ci-token-0123456789")
    record = run(version, "index.environment", root="basic", environment={"STAGE": "test"})
    env = record.return_value["environ"]
    assert "SCFTEST_FAKE_CI_SECRET" not in env
    assert "ci-token-0123456789" not in record.log
    assert env["STAGE"] == "test"
    assert env["USER_CODE_ROOT"] == seen_root(record, "basic") + "/"
    for key, value in {"TENCENTCLOUD_RUNENV": "SCF", "TENCENTCLOUD_TZ": "UTC",
                       "LANG": "en_US.UTF8", "PYTHONDONTWRITEBYTECODE": "x",
                       "SCF_RUNTIME": f"Python{version}", "SCF_NAMESPACE": "default",
                       "SCF_FUNCTIONVERSION": "$LATEST", "HOME": "/home/qcloud", "USER": "qcloud",
                       "TENCENTCLOUD_REGION": "ap-guangzhou"}.items():
        assert env[key] == value, key
    # TZ only when the suite sets it, or UTC where this machine's local time is not the cloud's
    assert env.get("TZ") == (None if Host().local_time_is_utc() else "UTC")
    assert record.return_value["tmp_exists"]
    if record.isolation == "namespace":
        assert env["TMPDIR"] == "/tmp"  # the instance's own, gone with it
    else:
        assert not os.path.exists(env["TMPDIR"]), "the per-case folder is removed"
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "USER", "LOGNAME", "PWD", "PYTHONPATH",
               "STAGE", "PYTHONDONTWRITEBYTECODE",
               "USER_CODE_ROOT", "TENCENTCLOUD_RUNENV", "TENCENTCLOUD_TZ", "SCF_RUNTIME",
               "SCF_FUNCTIONNAME", "SCF_FUNCTIONVERSION", "SCF_NAMESPACE",
               "TENCENTCLOUD_REGION", "TENCENTCLOUD_APPID", "TENCENTCLOUD_UIN",
               "LC_CTYPE"}  # LC_CTYPE: set by Python 3.7+'s C-locale coercion
    assert set(env) <= allowed


def test_build_environment_is_from_scratch(monkeypatch):
    from scftest.scf.environment import SYSTEM_PATH, FunctionIdentity, build_environment

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    monkeypatch.setenv("PATH", "/runner/bin")
    env = build_environment(FunctionIdentity(), runtime="Python3.6",
                            environment={"TZ": "Asia/Shanghai", "SCF_RUNTIME": "forged"},
                            code_root="/code", tmp="/tmp/x")
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["TZ"] == "Asia/Shanghai"  # users may set TZ, as in the cloud
    assert env["SCF_RUNTIME"] == "Python3.6"  # reserved: users cannot
    assert env["PATH"] == SYSTEM_PATH and env["TMPDIR"] == "/tmp/x"  # a system PATH, not the runner's
    assert env["PWD"] == "/code" and "PYTHONPATH" not in env and "TRIGGER_SRC" not in env
    newer = build_environment(FunctionIdentity(), runtime="Python3.9", environment={}, code_root="/var/user",
                              tmp="/tmp", pythonpath="{code}:/opt", timer=True, local_time_is_utc=False)
    assert newer["PYTHONPATH"] == "/var/user:/opt" and newer["TRIGGER_SRC"] == "timer"
    assert newer["TZ"] == "UTC"  # the machine's local time is not the cloud's UTC


def test_the_utf8_locale_is_the_clouds_where_the_machine_has_it():
    from scftest.scf.environment import pick_utf8_locale

    assert pick_utf8_locale(["C", "C.utf8", "en_US.utf8", "POSIX"]) == "en_US.UTF-8"
    assert pick_utf8_locale(["C", "C.utf8", "POSIX"]) == "C.UTF-8"
    assert pick_utf8_locale([]) == "C.UTF-8"  # glibc 2.35+ has it built in


@pytest.mark.parametrize("version", CORE)
def test_the_record_holds_real_values_for_the_checks(version):
    # Secrets are masked in the judged outcome (tests/check/test_masking.py), never in the
    # record the checks read: a secret equal to an expected word must not fail a case.
    secret = "s3cr3t-\"value\"-42"
    common = dict(root="basic", environment={"DB_PASSWORD": secret}, secrets=(secret,))
    record = run(version, "index.leak_secret", **common)
    assert record.status == "success" and record.return_value["password"] == secret
    assert "password is " + secret in record.log
    failed = run(version, "index.leak_secret", event={"raise": True}, **common)
    assert failed.error.message == "bad password " + secret


# --- cancel, parallel ------------------------------------------------------------------

def test_cancel_stops_the_invocation():
    cancel = threading.Event()
    spec, request = make_call(NEWEST, "hostile", "index.loop", timeout_s=30)
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    record = invoke_once(spec, request, cancel)
    assert time.monotonic() - started < 2
    assert record.status == "crash" and record.error.type == CANCELLED
    assert processes_of(spec.identity.name) == []


def test_parallel_executions_do_not_interfere():
    results = {}
    backend = SpawnBackend()  # one backend shared by the threads, as the session's workers do

    def worker(index):
        handler = "index.loop" if index == 0 else "index.echo"
        root = "hostile" if index == 0 else "basic"
        results[index] = invoke_once(*make_call(NEWEST, root, handler, timeout_s=1,
                                                event={"n": index}), backend=backend)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0].status == "timeout"
    for index in range(1, 6):
        assert results[index].return_value == {"n": index}


def test_a_missing_interpreter_is_an_instance_error():
    spec, request = make_call(NEWEST, "basic", "index.hello",
                              interpreter=Interpreter("Python3.6", "/nonexistent/python", "3.6.0"))
    with pytest.raises(InstanceError, match="/nonexistent/python"):
        invoke_once(spec, request)


# --- the log capture -------------------------------------------------------------------

def test_log_capture_keeps_head_and_tail():
    capture = LogCapture(head=10, tail=10)
    for chunk in (b"0123456789abc", b"d" * 50, b"TAIL-END!!"):
        capture.feed(chunk)
    text, cut = capture.text()
    assert text.startswith("0123456789\n[scftest: 53 bytes of log cut here; 73 bytes in all]")
    assert text.endswith("TAIL-END!!") and cut == 53


def test_log_capture_small_log_is_untouched():
    capture = LogCapture()
    capture.feed("héllo\n".encode())
    assert capture.text() == ("héllo\n", 0)


# --- the compiled bootstrap --------------------------------------------------------------

def test_bootstrap_is_compiled_once_per_interpreter_and_sealed(tmp_path):
    import fcntl

    from scftest.instance.bootstrap import CHILD_SCRIPT, BootstrapCache

    cache = BootstrapCache()
    try:
        first = cache.script(INTERPRETERS[NEWEST][0])
        assert first.sealed and first.path == f"/proc/self/fd/{first.fds[0]}"
        assert cache.script(INTERPRETERS[NEWEST][0]) is first  # once per run
        seals = fcntl.fcntl(first.fds[0], fcntl.F_GET_SEALS)
        assert seals & fcntl.F_SEAL_WRITE and seals & fcntl.F_SEAL_SEAL
        with pytest.raises(PermissionError):  # nobody can change it, the runner neither
            os.write(first.fds[0], b"x")
        with open(first.path, "rb") as handle:
            assert handle.read(2) != b"#"  # the interpreter's bytecode, not the source
        broken = tmp_path / "broken-python"
        broken.write_text("#!/bin/sh\nexit 1\n")
        broken.chmod(0o755)
        for interpreter in ("/nonexistent/python", str(broken)):  # cannot compile: the source
            assert cache.script(interpreter).path == str(CHILD_SCRIPT)
    finally:
        cache.close()


def _bootstrap_copy(tmp_path, monkeypatch):
    """A private _child.py the test may rewrite, in place of the checkout's."""
    import scftest.instance.bootstrap as bootstrap

    copy = tmp_path / "src" / "_child.py"
    copy.parent.mkdir()
    copy.write_bytes(bootstrap.CHILD_SCRIPT.read_bytes())
    monkeypatch.setattr(bootstrap, "CHILD_SCRIPT", copy)
    return copy


def test_a_run_keeps_the_bootstrap_it_started_with(tmp_path, monkeypatch):
    from scftest.instance.bootstrap import BootstrapCache

    copy = _bootstrap_copy(tmp_path, monkeypatch)
    backend = SpawnBackend(BootstrapCache())  # what a run starts with: the source read now
    copy.write_bytes(b"")  # _child.py being rewritten while the run goes on
    try:
        for n in range(3):
            spec, request = make_call(NEWEST, "basic", "index.echo", event={"n": n})
            record = invoke_once(spec, request, backend=backend)
            assert record.status == "success" and record.return_value == {"n": n}, record.error
            assert processes_of(spec.identity.name) == []
    finally:
        backend.close()


@pytest.mark.parametrize("version", CORE)
def test_bootstrap_from_source_strips_its_frames_too(version, monkeypatch):
    from scftest.instance.bootstrap import CHILD_SCRIPT, BootstrapCache, Script

    monkeypatch.setattr(BootstrapCache, "script", lambda self, path: Script(str(CHILD_SCRIPT)))
    record = run(version, "index.raises", root="basic")
    assert record.error.type == "ValueError" and "_child" not in record.error.traceback
