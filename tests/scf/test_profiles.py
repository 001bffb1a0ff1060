"""scf/'s facts against the places that must agree with them: the suite schema, the
bootstrap's own constants (_child.py cannot import them), the image tables, and what the
bootstrap really does on each offered runtime."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import invoke_once, make_call, python_params, seen_root
from jsonschema import Draft202012Validator

from scftest.load.validate import SCHEMA_PATH
from scftest.scf import images
from scftest.scf.invocation import INVOCATION_TYPES
from scftest.scf.limits import LIMITS
from scftest.scf.environment import SYSTEM_PATH, Host
from scftest.scf.profiles import EMPTY_NAME, ENTRY_FOLDER, PROFILES, offered, profile_for
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


def test_an_interpreter_scf_does_not_offer_gets_the_newest_profiles_behaviour():
    # Only the bootstrap's own tests run such interpreters: no suite can name them.
    unoffered = profile_for("Python3.11")
    assert (unoffered.runtime, unoffered.version, unoffered.offered) == ("Python3.11", (3, 11), False)
    assert replace(unoffered, runtime="Python3.10", version=(3, 10), offered=True) == PROFILES["Python3.10"]
    assert unoffered.log == LOG_FORMAT and unoffered.limits == LIMITS


OFFERED = python_params([p.runtime[len("Python"):] for p in PROFILES.values()])


def _facts(version, handler="index.facts", **fields):
    record = invoke_once(*make_call(version, "profile", handler, **fields))
    assert record.status == "success", record.log
    return record


@pytest.mark.parametrize("version", OFFERED)
def test_each_profile_says_what_the_bootstrap_does(version):
    profile = PROFILES[f"Python{version}"]
    record = _facts(version)
    facts = record.return_value
    assert facts["module"] == ("" if profile.module_name == EMPTY_NAME else "index")
    assert facts["in_sys_modules"] is profile.module_in_sys_modules
    assert facts["root_level"] == profile.root_logger_level
    assert facts["root_streams"] == ([profile.root_logger_stream] if profile.root_logger_stream else [])
    assert ("debug at import" in record.log) is (profile.root_logger_level == "DEBUG")
    lines = record.log.splitlines()
    rid = record.request_id
    assert lines[0] == profile.log.start.format(request_id=rid)
    assert profile.log.event is None and not any(line.startswith("Event") for line in lines)
    assert lines[-2] == profile.log.end.format(request_id=rid)


@pytest.mark.parametrize("version", OFFERED)
def test_the_environment_and_locale_are_the_clouds(version):
    profile = PROFILES[f"Python{version}"]
    record = _facts(version, environment={"STAGE": "test"})
    facts, root = record.return_value, seen_root(record, "profile")
    env = facts["environ"]
    assert env["PATH"] == SYSTEM_PATH and env["LANG"] == "en_US.UTF8"
    assert env["LC_ALL"] in ("en_US.UTF-8", "C.UTF-8")
    assert (env["USER"], env["LOGNAME"], env["HOME"], env["PWD"]) == ("qcloud", "qcloud", "/home/qcloud", root)
    assert env["PYTHONPATH"] == (profile.pythonpath.replace("{code}", root) if profile.pythonpath else None)
    # TZ only when the suite sets it, or UTC where this machine's local time is not (the cloud's is)
    assert env["TZ"] == (None if Host().local_time_is_utc() else "UTC") and env["TRIGGER_SRC"] is None
    # Whatever locales this machine has, files are read as UTF-8 (the cloud's LANG is UTF-8).
    assert facts["preferred_encoding"].upper().replace("-", "") == "UTF8"
    assert facts["read"] == u"caf\u00e9 \u4f60\u597d"
    assert facts["context_environment"] == '{"STAGE":"test","SCF_NAMESPACE":"default"}'
    assert facts["context_environ"] == "STAGE=test;SCF_NAMESPACE=default;SCF_NAMESPACE=default"


@pytest.mark.parametrize("version", python_params(["2.7", "3.10"]))
def test_timer_events_see_trigger_src_and_a_suites_tz_is_kept(version):
    record = _facts(version, trigger="timer", environment={"TZ": "Asia/Shanghai"})
    assert record.return_value["environ"]["TRIGGER_SRC"] == "timer"
    assert record.return_value["environ"]["TZ"] == "Asia/Shanghai"


@pytest.mark.parametrize("version", OFFERED)
def test_info_lines_appear_without_setlevel_only_where_the_bootstrap_sets_debug(version):
    profile = PROFILES[f"Python{version}"]
    record = _facts(version, "index.info_without_setlevel")
    classic = profile.root_logger_level == "DEBUG"
    assert ("an info line, no setLevel" in record.log) is classic
    assert ("a library's debug line" in record.log) is classic
    assert "a warning line" in record.log  # WARNING reaches the log on every runtime


@pytest.mark.parametrize("version", OFFERED)
def test_a_sub_folder_handler_runs_where_the_profile_says(version):
    profile = PROFILES[f"Python{version}"]
    record = _facts(version, "src/app.where")
    facts, root = record.return_value, seen_root(record, "profile")
    assert facts["helper"] == "src/helper.py" and facts["path"][0] == root
    if profile.subfolder == ENTRY_FOLDER:
        assert facts["cwd"] == root + "/src" and facts["tail"] == root + "/src"
    else:
        assert facts["cwd"] == root and facts["path"][1] == root + "/src"


def test_the_schema_allows_exactly_the_offered_runtimes():
    runtime = _schema_for("runtime")
    assert tuple(SCHEMA["$defs"]["runtime"]["enum"]) == offered()
    for name in ("Python3.8", "Python3.11", "Python3.12", "Python3.13", "python3.6"):
        assert not runtime.is_valid(name)
