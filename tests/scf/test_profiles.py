"""scf/'s facts against the places that must agree with them: the suite schema, the
bootstrap's own constants (_child.py cannot import them), the image tables, and what the
bootstrap really does on each offered runtime."""

from __future__ import annotations

import json

import pytest
from conftest import INTERPRETERS, invoke_once, make_call, python_params
from jsonschema import Draft202012Validator

from scftest.load.validate import SCHEMA_PATH
from scftest.scf import images
from scftest.scf.invocation import INVOCATION_TYPES
from scftest.scf.limits import LIMITS
from scftest.scf.profiles import PROFILES, offered, profile_for
from scftest.scf.results import LOG_FORMAT
from scftest.scf.status import Code, Status

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _schema_for(name):
    return Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"})


def _enums(node, key):
    """Every ``enum`` the schema gives a property called ``key``."""
    found = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, dict) and "enum" in value:
                found.append(value["enum"])
            found += _enums(value, key)
    elif isinstance(node, list):
        for value in node:
            found += _enums(value, key)
    return found


def test_the_schema_lists_the_statuses_and_invocation_words():
    assert _enums(SCHEMA, "status") == [[status.value for status in Status]]
    invocation = _enums(SCHEMA, "invocation")
    assert invocation and all(sorted(e) == sorted(INVOCATION_TYPES) for e in invocation)


def test_the_schema_allows_exactly_the_limits_timeouts_and_memory_sizes():
    timeout, memory = _schema_for("timeout"), _schema_for("memory")
    low, high = LIMITS.timeout_s
    assert [t for t in range(0, 1000) if timeout.is_valid(t)] == list(range(low, high + 1))
    assert tuple(m for m in range(0, 4000) if memory.is_valid(m)) == LIMITS.memory_mb
    assert LIMITS.timeout_default_s in range(low, high + 1) and LIMITS.memory_default_mb in LIMITS.memory_mb


def test_the_bootstraps_own_copies_agree(child):
    assert child.MAX_RET_MSG_CHARS == LIMITS.response_chars
    for profile in PROFILES.values():
        assert profile.preloaded == child.CLOUD_PRELOADED


def test_every_code_belongs_to_its_status_and_each_status_has_one_default():
    assert len({code.number for code in Code}) == len(Code)
    for status in Status:
        assert status.code.status is status
    assert Status("timeout") is Status.TIMEOUT and Status.TIMEOUT == "timeout"
    assert f"{Status.MEMORY_EXCEEDED}" == "memory_exceeded" == json.loads(json.dumps(Status.MEMORY_EXCEEDED))


def test_profiles_are_the_offered_runtimes_and_the_image_tables_follow_them():
    assert offered() == ("Python2.7", "Python3.6", "Python3.7", "Python3.9", "Python3.10")
    assert images.runtimes() == offered()
    for name, profile in PROFILES.items():
        assert profile.runtime == name and profile.offered
        assert name == f"Python{profile.version[0]}.{profile.version[1]}"


def test_a_runtime_scftest_accepts_but_scf_does_not_offer_behaves_as_today():
    unoffered = profile_for("Python3.11")
    assert (unoffered.runtime, unoffered.version, unoffered.offered) == ("Python3.11", (3, 11), False)
    assert unoffered.log == LOG_FORMAT and unoffered.limits == LIMITS


OFFERED = python_params([p.runtime[len("Python"):] for p in PROFILES.values()])


@pytest.mark.parametrize("version", OFFERED)
def test_each_profile_says_what_the_bootstrap_does(version):
    profile = PROFILES[f"Python{version}"]
    assert INTERPRETERS[version]
    record = invoke_once(*make_call(version, "basic", "index.runtime_facts"))
    facts = record.return_value
    assert facts["module"] == "index"  # profile.handler_module: the entry file's name
    assert facts["root_level"] == profile.root_logger_level
    assert facts["root_streams"] == [profile.root_logger_stream]
    lines = record.log.splitlines()
    rid = record.request_id
    assert lines[0] == profile.log.start.format(request_id=rid)
    assert profile.log.event is None and not lines[1].startswith("Event")
    assert lines[-2] == profile.log.end.format(request_id=rid)


def test_the_schema_allows_exactly_the_offered_runtimes():
    runtime = _schema_for("runtime")
    assert tuple(SCHEMA["$defs"]["runtime"]["enum"]) == offered()
    for name in ("Python3.8", "Python3.11", "Python3.12", "Python3.13", "python3.6"):
        assert not runtime.is_valid(name)
