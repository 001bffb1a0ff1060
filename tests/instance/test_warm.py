"""Warm instances (issue 14): one instance serving several invocations in order, on
Python 2.7, 3.6 and the newest present, in both isolations.

Module state and /tmp persist between warm invocations; only the cold start imports the
module; every invocation has its own request id, record and log; a timeout, a crash or
a memory overrun ends the instance, and the next invocation is a cold start. Nothing
survives the instance (its processes carry a unique function name in their environment).
"""

import uuid

import pytest
from conftest import CORE_VERSIONS, NEWEST, make_call, processes_of, python_params, shared_sandbox

from scftest.instance import InvocationRequest
from scftest.instance.spawn import SpawnBackend
from scftest.model import UNSET

CORE = python_params(CORE_VERSIONS)
CORE_3 = python_params(("2.7", "3.6", "3.10"))


def sequence(isolation, version, handler, events, **overrides):
    """Runs ``events`` in order in one instance; returns their records."""
    spec, _ = make_call(version, "warm", handler, **overrides)
    sandbox = shared_sandbox("strict" if isolation == "namespace" else "process")
    records = []
    with SpawnBackend(sandbox=sandbox) as backend:
        with backend.start(spec, invocations=len(events)) as instance:
            for event in events:
                request = InvocationRequest(request_id=str(uuid.uuid4()), event=event)
                records.append(instance.invoke(request))
    assert processes_of(spec.identity.name) == [], "processes of the instance left running"
    for record in records:
        assert record.isolation == isolation
    return records


@pytest.mark.parametrize("version", CORE_3)
def test_module_state_and_tmp_persist_across_warm_invocations(isolation, version):
    records = sequence(isolation, version, "index.remember", [{"key": "a"}, {"key": "b"}, {"key": "c"}])
    values = [r.return_value for r in records]
    assert [v["calls"] for v in values] == [1, 2, 3]
    assert values[2]["keys"] == ["a", "b", "c"]
    assert [v["tmp_seen"] for v in values] == [False, True, True]
    assert len({v["pid"] for v in values}) == 1
    assert [r.cold_start for r in records] == [True, False, False]
    ids = [r.request_id for r in records]
    assert len(set(ids)) == 3 and [v["request_id"] for v in values] == ids
    for record in records:
        assert record.status == "success" and record.exit_code in (0, None)


@pytest.mark.parametrize("version", CORE_3)
def test_each_invocation_has_its_own_log_and_only_the_cold_start_imports(isolation, version):
    records = sequence(isolation, version, "index.remember", [{"key": "a"}, {"key": "b"}])
    first, second = records
    assert "importing the module" in first.log and "importing the module" not in second.log
    assert "Init Report" in first.log and "Init Report" not in second.log  # cold starts only
    assert first.init_ms > 0 and second.init_ms == 0
    assert f"call 1 for {first.request_id}" in first.log
    assert f"call 2 for {second.request_id}" in second.log
    assert "call 1" not in second.log and "call 2" not in first.log
    assert first.request_id in first.log and first.request_id not in second.log


@pytest.mark.parametrize("version", CORE)
@pytest.mark.parametrize("ending", [
    {"do": "sleep", "seconds": 10}, {"do": "exit"}, {"do": "grow", "mb": 400}])
def test_a_timeout_crash_or_memory_overrun_ends_the_instance(isolation, version, ending):
    records = sequence(isolation, version, "index.misbehave", [{}, ending, {}, {}],
                       timeout_s=1, memory_mb=128)
    before, bad, after, warm = records
    assert before.status == "success" and bad.status != "success"
    assert bad.status_code in (430, 439, 433, 434, 437)
    assert (before.cold_start, bad.cold_start, after.cold_start, warm.cold_start) == (
        True, False, True, False)
    assert after.return_value["calls"] == 1  # a fresh module
    assert warm.return_value["calls"] == 2
    assert before.return_value["pid"] != after.return_value["pid"] or isolation == "namespace"


@pytest.mark.parametrize("version", python_params([NEWEST]))
def test_a_raised_exception_keeps_the_instance_warm(isolation, version):
    records = sequence(isolation, version, "index.misbehave", [{}, {"do": "raise"}, {}])
    assert [r.status for r in records] == ["success", "error", "success"]
    assert records[2].cold_start is False and records[2].return_value["calls"] == 3


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_memory_of_a_warm_invocation_is_the_instance_peak_so_far(isolation, version):
    records = sequence(isolation, version, "index.misbehave",
                       [{"do": "alloc", "mb": 60}, {}, {"do": "alloc", "mb": 10}], memory_mb=256)
    first, second, third = (r.max_memory_mb for r in records)
    assert first >= 60
    assert second >= first and third >= first  # the peak, as the cloud reports it


@pytest.mark.parametrize("version", python_params(["3.10"]))
def test_an_invocation_beyond_those_announced_is_a_cold_start(version):
    spec, _ = make_call(version, "warm", "index.remember")
    with SpawnBackend(sandbox=shared_sandbox("process")) as backend:
        with backend.start(spec, invocations=2) as instance:
            records = [instance.invoke(InvocationRequest(str(uuid.uuid4()), event={"key": k}))
                       for k in "abc"]
    assert [r.cold_start for r in records] == [True, False, True]
    assert [r.return_value["calls"] for r in records] == [1, 2, 1]
    assert processes_of(spec.identity.name) == []


@pytest.mark.parametrize("version", python_params(["2.7", NEWEST]))
def test_a_result_forged_in_a_warm_invocation_is_a_garbled_crash_and_ends_the_instance(
        isolation, version):
    records = sequence(isolation, version, "index.misbehave", [{}, {"do": "forge"}, {}, {}])
    first, forged, after, warm = records
    assert first.status == "success"
    assert forged.status == "crash" and "garbled" in forged.error.message
    assert forged.return_value is UNSET and forged.ret_msg is None  # never the forged "forged"
    assert after.cold_start and after.return_value["calls"] == 1  # forged frames left behind count for nothing
    assert warm.status == "success" and warm.return_value["calls"] == 2


@pytest.mark.parametrize("version", python_params(["2.7", "3.10"]))
def test_a_handler_that_cannot_be_loaded_ends_the_instance_each_time(version):
    records = sequence("process", version, "index.nowhere", [{}, {}])
    assert [(r.status_code, r.cold_start) for r in records] == [(437, True), (437, True)]
