"""The bootstrap (scftest/_child.py) on every interpreter present: 2.7 and 3.6-3.13.

Most tests go through the spawn backend (the bootstrap's only caller); a few drive the
bootstrap by hand to check its channel, and a few load its pure functions in-process.
"""

import json
import math
import os
import subprocess
import uuid

import pytest
from conftest import HANDLERS, INTERPRETERS, NEWEST, invoke_once, make_call, python_params, seen_root

from scftest.instance import InvocationRequest
from scftest.instance.bootstrap import CHILD_SCRIPT
from scftest.instance.channel import FrameReader
from scftest.model import UNSET
from scftest.scf.invocation import invocation_type
from scftest.scf.limits import LIMITS
from scftest.scf.profiles import profile_for

ALL = python_params()

CONTEXT_KEYS = sorted([
    "memory_limit_in_mb", "time_limit_in_ms", "request_id", "environment", "environ",
    "function_version", "function_name", "namespace", "tencentcloud_region",
    "tencentcloud_appid", "tencentcloud_uin",
])


def run(version, root, handler, **overrides):
    fields = dict(timeout_s=5, function_name="orders")
    fields.update(overrides)
    return invoke_once(*make_call(version, root, handler, **fields))


def py2(version):
    return version == "2.7"


def classic(version):
    """The 2.7 and 3.6 bootstrap's behaviour (profiles.py); 3.7+ and the interpreters SCF
    does not offer behave as the newest profile."""
    return profile_for(f"Python{version}").root_logger_level == "DEBUG"


# --- success, return values, serialization ---------------------------------------------

@pytest.mark.parametrize("version", ALL)
def test_hello_world(version):
    record = run(version, "basic", "index.hello")
    assert (record.status, record.status_code) == ("success", 200)
    assert record.ret_msg == '"Hello World"' and record.return_value == "Hello World"
    assert record.exit_code == 0 and record.signal is None
    assert record.interpreter_version == INTERPRETERS[version][1]
    lines = record.log.splitlines()
    rid = record.request_id
    assert lines[0] == f"START RequestId:{rid}" and lines[1].startswith(f"Init Report RequestId:{rid} ")
    assert f'Response RequestId:{rid} RetMsg:"Hello World"' in lines
    assert lines[-2] == f"END RequestId:{rid}"
    assert lines[-1].startswith(f"Report RequestId:{rid} Duration:")
    assert "Memory:128MB MemUsage:" in lines[-1]
    assert record.billed_duration_ms == math.ceil(record.duration_ms)
    assert 0 < record.max_memory_mb < 128


@pytest.mark.parametrize("version", ALL)
def test_context_has_every_documented_key_and_type(version):
    record = run(version, "basic", "index.context_types", timeout_s=3, memory_mb=256,
                 environment={"STAGE": "test", "REGION_NAME": "gz"},
                 context={"namespace": "prod", "extra_key": 7})
    value = record.return_value
    assert value["keys"] == sorted(CONTEXT_KEYS + ["extra_key"])
    assert value["ints"] == {"memory_limit_in_mb": True, "time_limit_in_ms": True}
    assert all(value["strings"][k] for k in value["strings"] if k != "extra_key")
    context = value["context"]
    assert context["memory_limit_in_mb"] == 256 and context["time_limit_in_ms"] == 3000
    assert context["request_id"] == record.request_id
    assert str(uuid.UUID(context["request_id"])) == context["request_id"]
    # As the platform's sample shows: SCF_NAMESPACE too, and twice in environ (S9).
    assert json.loads(context["environment"]) == {"STAGE": "test", "REGION_NAME": "gz", "SCF_NAMESPACE": "default"}
    assert context["environ"] == "STAGE=test;REGION_NAME=gz;SCF_NAMESPACE=default;SCF_NAMESPACE=default"
    assert context["function_version"] == "$LATEST" and context["function_name"] == "orders"
    assert context["namespace"] == "prod" and context["extra_key"] == 7  # merged over
    assert context["tencentcloud_region"] == "ap-guangzhou"


@pytest.mark.parametrize("version", ALL)
def test_module_is_imported_by_name_from_the_code_root(version):
    record = run(version, "basic", "index.where")
    root = seen_root(record, "basic")
    value = record.return_value
    assert value["cwd"] == root and value["path"][0] == root
    assert value["name"] == ("" if classic(version) else "index")  # never __main__ (profiles.py)
    assert value["file"] == os.path.join(root, "index.py")
    assert len(value["argv"]) == 1  # the channel's fd number is not handed to the handler


@pytest.mark.parametrize("version", ALL)
def test_handler_in_a_sub_folder(version):
    record = run(version, "subdir", "src/app.handler")
    root = seen_root(record, "subdir")
    value = record.return_value
    assert value["helper"] == "helper from src" and value["path"][0] == root
    if classic(version):  # the 2.7/3.6 bootstrap: into the entry file's folder, appended to sys.path
        assert (value["cwd"], value["name"]) == (os.path.join(root, "src"), "")
    else:
        assert value == {"cwd": root, "name": "app", "helper": "helper from src",
                         "path": [root, os.path.join(root, "src")]}


@pytest.mark.parametrize("version", ALL)
def test_output_order_and_root_logger(version):
    record = run(version, "basic", "index.interleave")
    if classic(version):  # a stdout handler at DEBUG: every line, in the order written
        assert ("hidden: root level is WARNING by default\none\ntwo\nthree\nfourfive\n"
                in record.log)
    else:  # no handler: INFO reaches no handler whatever the level (only WARNING+ would)
        assert "one\ntwo\nfourfive\n" in record.log and "three" not in record.log
        assert "hidden" not in record.log


@pytest.mark.parametrize("version", ALL)
def test_import_time_output_is_logged(version):
    record = run(version, "importtime", "index.main_handler")
    assert record.status == "success"
    if classic(version):
        # The runtime's root handler exists before the import, so basicConfig is a no-op
        # and the root level stays the bootstrap's DEBUG.
        assert "printed at import\nlogged at import\nstderr at import\n" in record.log
        assert "info after basicConfig\n" in record.log
    else:  # no handler: the handler's own basicConfig(level=INFO) is what it does on a laptop
        assert "printed at import\nWARNING:root:logged at import\nstderr at import\n" in record.log
        assert "INFO:root:info after basicConfig\n" in record.log


@pytest.mark.parametrize("version", ALL)
def test_user_module_named_like_a_preloaded_stdlib_module(version):
    record = run(version, "shadow", "index.main_handler")
    assert record.return_value == '[1, {"a": null}]'


@pytest.mark.parametrize("version", ALL)
def test_decimal_becomes_its_string(version):
    record = run(version, "basic", "index.decimal_return")
    assert (record.ret_msg, record.return_value) == ('"1.50"', "1.50")


@pytest.mark.parametrize("version", ALL)
def test_nested_decimal_is_not_serializable(version):
    record = run(version, "basic", "index.nested_decimal")
    assert (record.status, record.status_code, record.error.type) == ("error", 430, "TypeError")


@pytest.mark.parametrize("version", ALL)
def test_non_ascii_return_and_output(version):
    record = run(version, "basic", "index.non_ascii")
    expected = {"msg": "你好", "e": "é", "emoji": "\U0001F600", "quote": 'say "hi"\n'}
    assert record.return_value == expected
    if py2(version):
        # Tencent's 2.7 bootstrap writes json.dumps(ret): ASCII-escaped (its dict order is 2.7's)
        assert json.loads(record.ret_msg) == expected and record.ret_msg.isascii()
        assert '"\\u4f60\\u597d"' in record.ret_msg and '"\\ud83d\\ude00"' in record.ret_msg
        assert f"RetMsg:{record.ret_msg}" in record.log
    else:
        assert record.ret_msg == json.dumps(expected, ensure_ascii=False)
        assert "你好" in record.ret_msg
    assert "héllo 你好" in record.log


@pytest.mark.parametrize("version", ALL)
def test_unserializable_return_fails(version):
    record = run(version, "basic", "index.unserializable")
    assert (record.status, record.status_code, record.error.type) == ("error", 430, "TypeError")
    assert "not JSON serializable" in record.error.message


@pytest.mark.parametrize("version", ALL)
def test_return_over_6_mb_fails_like_scf(version):
    record = run(version, "basic", "index.too_large")
    assert (record.status, record.status_code) == ("error", 407)
    assert record.error.message.startswith("body size is too long")
    assert record.return_value is UNSET and record.ret_msg is None


SIZE_VERSIONS = python_params(["2.7", "3.6", "3.10"])
MIB = 1024 * 1024


@pytest.mark.parametrize("version", SIZE_VERSIONS)
def test_the_response_cap_is_6_mb_of_json_text_to_the_character(version):
    at_the_cap = run(version, "basic", "index.sized", event={"char": "x", "count": 6 * MIB - 2})
    assert at_the_cap.status_code == 200 and len(at_the_cap.ret_msg) == 6 * MIB  # the quotes count
    over = run(version, "basic", "index.sized", event={"char": "x", "count": 6 * MIB - 1})
    assert (over.status, over.status_code) == ("error", 407)
    assert over.error.message == ("body size is too long: the return value's JSON is %d characters, "
                                  "over SCF's limit of %d" % (6 * MIB + 1, 6 * MIB))


@pytest.mark.parametrize("version", SIZE_VERSIONS)
def test_the_response_cap_counts_characters_as_each_runtime_writes_them(version):
    """Python 3's runtime counts the characters of its ensure_ascii=False text (3 Mi
    characters of 'é' are 6 MiB of UTF-8 and pass); Python 2.7's counts its ASCII-escaped
    text, where each 'é' is the 6 characters of \u00e9."""
    record = run(version, "basic", "index.sized", event={"char": u"é", "count": 3 * MIB})
    emoji = run(version, "basic", "index.sized", event={"char": u"\U0001F600", "count": MIB // 2})
    if py2(version):
        assert record.status_code == 407
        assert "JSON is %d characters" % (6 * 3 * MIB + 2) in record.error.message
        assert "JSON is %d characters" % (12 * MIB // 2 + 2) in emoji.error.message  # \ud83d\ude00
    else:
        assert record.status_code == 200 and len(record.ret_msg.encode("utf-8")) > 6 * MIB
        assert emoji.status_code == 200


@pytest.mark.parametrize("version", python_params(["2.7", "3.10"]))
def test_the_response_cap_holds_for_async_invocations_too(version):
    record = run(version, "basic", "index.sized", event={"char": "x", "count": 6 * MIB},
                 invocation="async")
    assert (record.status, record.status_code) == ("error", 407)
    assert json.loads(record.error_result)["statusCode"] == 407


@pytest.mark.parametrize("version", ALL)
def test_async_return_reaches_only_the_log(version):
    record = run(version, "basic", "index.queued", invocation="async", event={"id": 42})
    assert record.status == "success" and record.invocation == "async"
    assert record.return_value is UNSET
    assert record.ret_msg == '{"queued": true}'
    assert f'Response RequestId:{record.request_id} RetMsg:{{"queued": true}}' in record.log
    assert "order 42 queued" in record.log


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", NEWEST]))
def test_api_word_event_means_async(version):
    # The loader normalises the word once (scf.invocation); the request holds only sync/async.
    record = run(version, "basic", "index.queued", invocation=invocation_type("Event"))
    assert record.return_value is UNSET and record.ret_msg == '{"queued": true}'
    assert record.invocation == "async"


def test_a_request_takes_only_normalised_invocation_words():
    with pytest.raises(ValueError, match="'Event'"):
        InvocationRequest("r", invocation="Event")


@pytest.mark.parametrize("version", ALL)
def test_event_round_trips(version):
    event = {"s": "é\u0000\n\t\"\\ \U0001F600 \u2028", "n": 1.5, "big": 2 ** 70,
             "neg": -0.0, "nested": [[[]], {}], "t": True, "f": False, "none": None,
             "deep": json.loads("[" * 300 + "]" * 300)}
    record = run(version, "basic", "index.echo", event=event)
    assert record.return_value == event


@pytest.mark.parametrize("version", ALL)
def test_plain_returns_serialize_exactly_like_json(version):
    values = [None, True, False, 0, -5, 10 ** 20, 1.5, 1e-7, 1e22, -0.0, "", "plain",
              'quote"', "back\\slash", "tab\t", "\x7f", "é", "\U0001F600", [], {}, [1, [2, [3]]],
              {"a": {"b": [1.0, None]}, "c": "d"}, {"k\n": 1}, float("nan"), float("inf")]
    record = run(version, "basic", "index.value", event={"value": values})
    escaped = py2(version)  # Tencent's 2.7 bootstrap: json.dumps(ret), ASCII-escaped
    assert record.ret_msg == json.dumps(values, ensure_ascii=escaped)
    for value in values:
        single = run(version, "basic", "index.value", event={"value": value})
        assert single.ret_msg == json.dumps(value, ensure_ascii=escaped), value


# --- exceptions and initialization failures --------------------------------------------

@pytest.mark.parametrize("version", ALL)
def test_exception_type_message_and_traceback(version):
    record = run(version, "basic", "index.raises")
    error = record.error
    assert (record.status, record.status_code) == ("error", 430)
    assert error.type == "ValueError" and error.message == 'missing "id"'
    assert error.qualified_type == ("exceptions.ValueError" if py2(version)
                                    else "builtins.ValueError")
    assert error.traceback.startswith("Traceback (most recent call last):\n")
    assert 'index.py", line' in error.traceback and "in raises" in error.traceback
    assert "_child" not in error.traceback and "<frozen" not in error.traceback
    assert error.traceback.rstrip().endswith("ValueError: missing \"id\"")
    assert "Traceback (most recent call last):" in record.log
    assert f"ERROR RequestId:{record.request_id} Result:" in record.log
    assert '"errorMessage":"user code exception caught"' in record.log


def error_line(record):
    """The Result of the log's ERROR line."""
    start = "ERROR RequestId:%s Result:" % record.request_id
    (line,) = [line for line in record.log.splitlines() if line.startswith(start)]
    return line[len(start):].strip()


@pytest.mark.parametrize("version", ALL)
def test_a_user_exception_result_is_shaped_as_the_clouds_430(version):
    record = run(version, "basic", "index.raises")
    result = json.loads(record.error_result)
    assert result == {"errorCode": -1, "errorMessage": "user code exception caught",
                      "requestId": record.request_id, "stackTrace": record.error.traceback,
                      "statusCode": 430}
    # Keys sorted, no spaces, as the captures print it.
    assert record.error_result == json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert error_line(record) == record.error_result


@pytest.mark.parametrize("version", ALL)
def test_an_import_failure_result_is_shaped_as_the_clouds_443(version):
    record = run(version, "importfail", "index.main_handler")
    result = json.loads(record.error_result)
    assert result == {"errorCode": 1, "errorMessage": record.error.traceback,
                      "requestId": record.request_id, "statusCode": 443}
    assert "NameError" in result["errorMessage"] and error_line(record) == record.error_result


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", "3.10"]))
def test_a_missing_handler_result_is_shaped_like_443_with_its_code(version):
    record = run(version, "basic", "index.nofunc")
    result = json.loads(record.error_result)
    assert result == {"errorCode": 1, "errorMessage": record.error.traceback,
                      "requestId": record.request_id, "statusCode": 437}
    assert result["errorMessage"] == "AttributeError: %s\n" % record.error.message
    too_large = run(version, "basic", "index.too_large")
    assert json.loads(too_large.error_result) == {
        "errorCode": -1, "errorMessage": too_large.error.message, "requestId": too_large.request_id,
        "statusCode": 407}
    assert error_line(too_large) == too_large.error_result


@pytest.mark.parametrize("version", ALL)
def test_a_memory_error_raised_by_code_is_an_ordinary_exception(version):
    """Tencent's runtime catches a MemoryError like any exception (430); on every
    interpreter the bootstrap tells a raise statement from a failed allocation."""
    for handler in ("index.raises_memory_error", "index.raises_memory_error_in_a_helper"):
        record = run(version, "basic", handler)
        assert (record.status, record.status_code, record.error.type) == ("error", 430, "MemoryError")
    assert record.error.message == "quota of 3 items reached"


@pytest.mark.parametrize("version", ALL)
def test_custom_exception_is_qualified(version):
    record = run(version, "basic", "index.raises_custom")
    module = "" if classic(version) else "index."  # the 2.7/3.6 bootstrap's module has no name
    assert (record.error.type, record.error.qualified_type) == ("NotFound", module + "NotFound")
    assert "in inner" in record.error.traceback


@pytest.mark.parametrize("version", ALL)
def test_the_exception_carries_its_class_chain(version):
    """The MRO's qualified names, nearest first, without object: the parent judges
    ``error.type: LookupError`` from them without importing the handler's module."""
    builtin = "exceptions" if py2(version) else "builtins"
    middle = ["%s.StandardError" % builtin] if py2(version) else []
    record = run(version, "basic", "index.raises_subclass")
    module = "" if classic(version) else "index."  # the 2.7/3.6 bootstrap's module has no name
    assert record.error.mro == tuple([module + "OrderMissing", module + "OrderError", builtin + ".LookupError"]
                                     + middle + [builtin + ".Exception", builtin + ".BaseException"])
    assert record.error.to_dict()["mro"] == list(record.error.mro)
    missing = run(version, "importfail", "missing_dep.main_handler")
    assert builtin + ".ImportError" in missing.error.mro
    assert missing.error.mro[0] == missing.error.qualified_type


@pytest.mark.parametrize("version", python_params([v for v in INTERPRETERS if v != "2.7"]))
def test_chained_exception_keeps_the_chain_without_bootstrap_frames(version):
    record = run(version, "basic", "index.raises_chained")
    assert "During handling of the above exception" in record.error.traceback
    assert "_child" not in record.error.traceback


@pytest.mark.parametrize("version", ALL)
def test_missing_file(version):
    record = run(version, "basic", "nofile.main_handler")
    assert (record.status, record.status_code) == ("error", 437)
    assert record.error.type == ("ImportError" if py2(version) else "ModuleNotFoundError")
    assert "No module named 'nofile'" in record.error.message
    assert seen_root(record, "basic") + "/nofile.py" in record.error.message


@pytest.mark.parametrize("version", ALL)
def test_missing_function(version):
    record = run(version, "basic", "index.nofunc")
    assert (record.status, record.status_code, record.error.type) == ("error", 437,
                                                                      "AttributeError")
    assert "has no attribute 'nofunc'" in record.error.message
    assert "index.py" in record.error.message


@pytest.mark.parametrize("version", ALL)
def test_syntax_error(version):
    record = run(version, "syntax", "index.main_handler")
    assert (record.status, record.status_code, record.error.type) == ("error", 443,
                                                                      "SyntaxError")
    assert 'index.py", line 1' in record.error.traceback
    assert "_child" not in record.error.traceback


@pytest.mark.parametrize("version", ALL)
def test_python2_code_on_python3(version):
    record = run(version, "py2syntax", "index.main_handler")
    if py2(version):
        assert record.status == "success" and "Python 2 only" in record.log
    else:
        assert (record.status_code, record.error.type) == (443, "SyntaxError")


@pytest.mark.parametrize("version", ALL)
def test_import_time_exception(version):
    record = run(version, "importfail", "index.main_handler")
    assert (record.status, record.status_code, record.error.type) == ("error", 443, "NameError")
    assert "XXXXXX" in record.error.message
    assert "before the failure" in record.log
    assert 'index.py", line 2, in <module>' in record.error.traceback


@pytest.mark.parametrize("version", ALL)
def test_import_of_a_missing_dependency(version):
    record = run(version, "importfail", "missing_dep.main_handler")
    assert record.status_code == 443
    assert record.error.type == ("ImportError" if py2(version) else "ModuleNotFoundError")
    assert "not_a_module_scftest" in record.error.message
    assert "<frozen" not in record.error.traceback


@pytest.mark.parametrize("version", ALL)
def test_result_fd_is_not_inherited(version):
    record = run(version, "basic", "index.child_fds")
    assert record.return_value == ["0", "1", "2", "3"]  # 3: listdir's own descriptor


# --- the channel, by hand ----------------------------------------------------------------

@pytest.mark.parametrize("version", python_params(["2.7", "3.6", NEWEST]))
def test_channel_frames_and_config_removal(version, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "handler": "index.hello", "code_root": str(HANDLERS / "basic"), "event": {},
        "context": {}, "invocation": "sync", "request_id": "r"}))
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([INTERPRETERS[version][0], "-u", "-E", "-s", "-S", str(CHILD_SCRIPT),
                             str(config), str(write_fd)], pass_fds=(write_fd,),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            start_new_session=True)
    os.close(write_fd)
    reader, frames = FrameReader(), []
    try:
        while True:  # the bootstrap closes the channel after its result, then lingers
            data = os.read(read_fd, 65536)
            if not data:
                break
            frames += reader.feed(data)
        assert proc.poll() is None, "it lingers, as a warm instance does, until killed"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        os.close(read_fd)
    assert [f.kind for f in frames] == ["ready", "loaded", "result"]
    fields = dict(frames[2].fields)
    imports = fields.pop("imports").splitlines()  # what the invocation imported, from where
    assert fields == {"outcome": "ok", "ret_msg": '"Hello World"'}  # no figures: the parent measures
    assert "index code" in imports and all(line.endswith(" stdlib") for line in imports
                                           if line != "index code")
    assert not config.exists()


# --- pure functions of the bootstrap, in-process -----------------------------------------

JSON_TEXTS = [
    '{"a": [1, 2.5, -0.0, 1e400, true, false, null], "b": "\\u0000\\n\\"\\\\ é"}',
    '"\\ud83d\\ude00"', '["\\u2028", "\\/"]', "[" * 500 + "]" * 500, "NaN", "-Infinity",
    '"\\ud800 lone"', ' [12345678901234567890123, {"k": {"k": []}}] \n', '{"a": 1, "a": 2}',
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_parse_json_matches_json_loads(child, text):
    expected = json.loads(text)
    got = child.parse_json(text)
    assert json.dumps(got) == json.dumps(expected)


@pytest.mark.parametrize("text", ['{"a": 1} x', "[1,", "", "{'a': 1}", "[1] [2]"])
def test_parse_json_refuses_what_json_loads_refuses(child, text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        child.parse_json(text)


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", NEWEST]))
def test_parse_json_matches_json_loads_on_each_interpreter(version):
    """The bootstrap's parser (json's C scanner on Python 3, without importing json) on
    the real interpreters, which also leave sys.modules as they found it."""
    code = ("import json, sys\n"
            "texts = json.loads(sys.stdin.read())\n"
            "sys.modules.pop('_json', None)\n"
            "path = sys.argv[1]\n"
            "names = {'__name__': 'scftest_bootstrap', '__file__': path}\n"
            "exec(compile(open(path).read(), path, 'exec'), names)\n"
            "same = [json.dumps(names['parse_json'](t)) == json.dumps(json.loads(t)) for t in texts]\n"
            "print(json.dumps([same, '_json' in sys.modules]))\n")
    done = subprocess.run([INTERPRETERS[version][0], "-S", "-c", code, str(CHILD_SCRIPT)],
                          input=json.dumps(JSON_TEXTS), capture_output=True, text=True, check=True)
    same, imported = json.loads(done.stdout)
    assert not imported
    assert same == [True] * len(JSON_TEXTS)


def test_frame_round_trip(child):
    read_fd, write_fd = os.pipe()
    try:
        child.Channel(write_fd).send("result", [("ret_msg", "é\n\"x\""), ("empty", ""),
                                            ("skipped", None), ("n", 5)])
        os.close(write_fd)
        data = b"".join(iter(lambda: os.read(read_fd, 4096), b""))
    finally:
        os.close(read_fd)
    sent = FrameReader().feed(data)
    assert sent[0].kind == "result"
    assert sent[0].fields == {"ret_msg": "é\n\"x\"", "empty": "", "n": "5"}


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", NEWEST]))
def test_resource_limits(version):
    record = run(version, "basic", "index.limits", memory_mb=256)
    assert record.return_value == {"as": (2 * 256 + 2048) * 1024 * 1024, "nofile": LIMITS.open_files}


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", NEWEST]))
def test_missing_code_root(version, tmp_path):
    record = run(version, "basic", "index.hello", code_root=tmp_path / "gone")
    assert (record.status, record.status_code) == ("error", 437)
    assert "code root" in record.error.message and "does not exist" in record.error.message
