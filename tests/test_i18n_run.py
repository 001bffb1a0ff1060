"""A run in both languages (issue 18, area a): the terminal's verdict words, failure
explanations and summary in Chinese, at the same file:line positions as in English;
the machine fields of the JSON and JUnit reports stay English."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import NEWEST_OFFERED
from scftest.cli import main
from scftest.render import display_width

pytestmark = pytest.mark.skipif(NEWEST_OFFERED is None, reason="no interpreter of an SCF runtime on this machine")

FUNCTION = '''\
def main_handler(event, context):
    print("handling " + event.get("name", "nobody"))
    return {"statusCode": 200, "count": "3", "body": "Hello " + event.get("name", "World")}
'''


def _suite(tmp_path):
    code = tmp_path / "fn"
    code.mkdir()
    (code / "index.py").write_text(FUNCTION)
    runtime = "Python" + NEWEST_OFFERED
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""\
name: words
function:
  code: fn
  handler: index.main_handler
  runtime: {runtime}
cases:
  - name: passes
    event: {{name: Ada}}
    expect:
      return: {{statusCode: 200, count: "3", body: Hello Ada}}
  - name: fails
    event: {{name: Bob}}
    expect:
      return_includes:
        statusCode: "200"
        count: 3
        body: Hello Ada
      log:
        - handling Ada
  - name: skipped
    skip: not today
""")
    return suite


def _run(suite, language, capsys, *extra):
    status = main(["run", str(suite), "--lang", language, "--color", "no", *extra])
    return status, capsys.readouterr().out


def _positions(text):
    """Every file:line and suite line a report names, in order."""
    return (re.findall(r"suite\.yaml:(\d+)", text)
            + ["".join(pair) for pair in re.findall(r"\(suite line (\d+)\)|（测试套件第 (\d+) 行）", text)])


def test_a_failing_run_in_both_languages(tmp_path, capsys):
    suite = _suite(tmp_path)
    status_en, english = _run(suite, "en", capsys)
    status_zh, chinese = _run(suite, "zh", capsys)
    assert status_en == status_zh == 1
    assert "return.statusCode (suite line 15): expected a string, got an int (a number written in quotes is " \
           "text: write 200 without quotes)" in english
    assert "return.count (suite line 16): expected an int, got a string (the function returned the number " \
           'as text: "3" is a string)' in english
    assert "log[0] (suite line 19): text not found in the log" in english
    assert re.search(r"= 1 passed, 1 failed, 1 skipped in \d+\.\d\ds =", english)
    assert "return.statusCode（测试套件第 15 行）：期望 字符串，实际是 整数（写在引号里的数字是文本：请去掉引号，" \
           "写成 200）" in chinese
    assert 'return.count（测试套件第 16 行）：期望 整数，实际是 字符串（函数把数字作为文本返回了："3" 是字符串）' in chinese
    assert "log[0]（测试套件第 19 行）：日志中找不到这段文本" in chinese
    assert "    期望：    \"Hello Ada\"\n    实际：    \"Hello Bob\"" in chinese
    assert re.search(r"= 1 个通过，1 个失败，1 个跳过，用时 \d+\.\d\ds =", chinese)
    assert "收集到 3 个用例" in chinese and "失败详情" in chinese and "简要汇总" in chinese
    assert "失败 words::fails - return 在 statusCode 处不同（另有 3 处）" in chinese
    assert _positions(english) == _positions(chinese) == ["11", "15", "16", "17", "19"]
    for text in (english, chinese):  # the rules fill the 80 columns in either language
        rules = [line for line in text.splitlines() if line.startswith("==")]
        assert rules and all(display_width(line) in (79, 80) for line in rules), rules


def test_machine_fields_stay_english(tmp_path, capsys):
    suite = _suite(tmp_path)
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    _run(suite, "zh", capsys, "--json", str(report), "--junit-xml", str(junit))
    data = json.loads(report.read_text(encoding="utf-8"))
    cases = {case["name"]: case for case in data["cases"]}
    assert {name: case["verdict"] for name, case in cases.items()} == {
        "passes": "passed", "fails": "failed", "skipped": "skipped"}
    assert cases["fails"]["record"]["status"] == "success"
    root = ET.parse(junit).getroot()
    failure = root.find(".//testcase[@name='fails']/failure")
    assert failure is not None and set(failure.attrib) >= {"message", "type"}
    assert "期望 字符串" in failure.text  # a person's words follow the language


def _one_function(tmp_path, source, cases):
    """A suite of ``cases`` (YAML text) for one function whose index.py is ``source``."""
    code = tmp_path / "fn"
    code.mkdir()
    (code / "index.py").write_text(source)
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"function: {{code: fn, handler: index.main_handler, runtime: Python{NEWEST_OFFERED}}}\n"
                     "cases:\n" + cases)
    return suite


def test_an_error_case_in_both_languages(tmp_path, capsys):
    suite = _one_function(tmp_path, "def main_handler(event, context):\n    raise KeyError('id')\n",
                          "  - name: raises\n    expect: {return: 1}\n")
    _, english = _run(suite, "en", capsys)
    _, chinese = _run(suite, "zh", capsys)
    assert "status (suite line 4): expected success, got error: KeyError: 'id'" in english
    assert "status（测试套件第 4 行）：期望 success，实际是 error：KeyError: 'id'" in chinese


def test_a_missing_interpreter_in_chinese(tmp_path, capsys):
    suite = _suite(tmp_path)
    runtime = "Python" + NEWEST_OFFERED
    _, chinese = _run(suite, "zh", capsys, "-k", "passes", "--runtime", f"{runtime}=/nonexistent/python")
    assert f"出错 words::passes - 没有 {runtime} 的解释器" in chinese
    assert f"{runtime}：--runtime 指定的解释器无法使用：" in chinese


def test_a_module_nobody_provides_in_chinese(tmp_path, capsys):
    suite = _one_function(tmp_path, "import nosuchmodule_for_i18n\n\ndef main_handler(event, context):\n    return 1\n",
                          "  - name: imports\n")
    _, chinese = _run(suite, "zh", capsys)
    assert f"`nosuchmodule_for_i18n` 不在 Python{NEWEST_OFFERED} 镜像中" in chinese


def test_the_record_lines_in_both_languages(tmp_path, capsys):
    suite = _suite(tmp_path)
    _, english = _run(suite, "en", capsys, "-v", "-k", "passes")
    _, chinese = _run(suite, "zh", capsys, "-v", "-k", "passes")
    assert re.search(r"duration: [\d.]+ ms \(billed \d+ ms; cold start, init [\d.]+ ms\), memory: ", english)
    assert re.search(r"duration: [\d.]+ ms （计费 \d+ ms；冷启动，初始化 [\d.]+ ms）, memory: ", chinese)
    assert "通过 words::passes (" in chinese and "status: success (200)" in chinese  # the record's fields stay


def test_the_html_report_in_chinese(tmp_path, capsys):
    suite = _suite(tmp_path)
    page = tmp_path / "report.html"
    _run(suite, "zh", capsys, "--html", str(page))
    html = page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "<h1>scftest 报告</h1>" in html and "<h2>显示以下结果的用例</h2>" in html
    assert '<span class="badge v-failed">失败</span>' in html and "<h3>不符合的地方</h3>" in html
    assert "期望 字符串，实际是 整数（写在引号里的数字是文本：请去掉引号，写成 200）" in html
    assert '显示 3 个用例中的 <span id="shown">3</span> 个' in html
    assert 'data-verdict="failed"' in html  # the page's machine words stay English
