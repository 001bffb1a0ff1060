"""The command line in Chinese (issue 18, area c): help, usage errors, and
``scftest init --lang zh``, whose suite and function are commented in Chinese and pass
at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import INTERPRETERS
from scftest.authoring.scaffold import HANDLER_FILE, SUITE_FILE
from scftest.cli import main

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_help_in_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help", "--lang", "zh"])
    text = capsys.readouterr().out
    assert "用法：scftest run" in text
    assert "只运行标签匹配 EXPR 的用例" in text and "（可重复：匹配其中任意一个）" in text
    assert "写一份 JUnit XML 报告" in text and "显示本帮助并退出" in text
    with pytest.raises(SystemExit):
        main(["--help", "--lang", "zh"])
    assert "腾讯云 SCF Python 函数的声明式测试运行器。" in capsys.readouterr().out


def test_scftests_own_usage_errors_in_chinese(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-j", "0", "--lang", "zh"]) == 4
    assert capsys.readouterr().err == "scftest: -j '0'：请给出并发数（1 或更多）或 'auto'\n"
    assert main(["run", "-j", "0", "--lang", "en"]) == 4
    assert capsys.readouterr().err == "scftest: -j '0': give a number of workers (1 or more) or 'auto'\n"
    assert main(["events", "show", "nosuch", "--lang", "zh"]) == 4
    assert "未知的触发器模板 'nosuch'；已知的有：" in capsys.readouterr().err


@pytest.mark.skipif(INTERPRETERS["3.6"] is None, reason="the scaffold's suite runs on Python3.6, not on this machine")
def test_init_in_chinese_passes_at_once(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--lang", "zh"]) == 0
    steps = capsys.readouterr().out
    assert steps.startswith("已在 . 中创建一个函数和一个测试套件：\n")
    assert "scftest run                  运行测试套件：四个用例全部通过" in steps
    suite = (tmp_path / SUITE_FILE).read_text(encoding="utf-8")
    handler = (tmp_path / HANDLER_FILE).read_text(encoding="utf-8")
    comments = [line.split("#", 1)[1] for line in suite.splitlines() if "#" in line and "$schema" not in line]
    assert comments and all(_CHINESE.search(c) for c in comments), "every comment of the suite is in Chinese"
    assert "# 一个 scftest 测试套件。" in suite and "- name: 向世界问好" in suite
    assert handler.startswith("# -*- coding: utf8 -*-\n# SCF 的 hello world 函数")
    assert main(["run", "--lang", "zh", "--color", "no"]) == 0
    out = capsys.readouterr().out
    assert "收集到 4 个用例" in out and re.search(r"= 4 个通过，用时 \d+\.\d\ds =", out)
    assert main(["validate", "-v", "--lang", "zh"]) == 0
    listing = capsys.readouterr().out
    assert "hello::向世界问好" in listing and "1 个测试套件有效，共 4 个用例；0 个文件有问题" in listing


def test_init_in_english_stays_english(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("Created a function and a suite in .:\n")
    assert not _CHINESE.search((tmp_path / SUITE_FILE).read_text(encoding="utf-8"))


def test_the_chinese_tutorial_shows_what_init_prints(tmp_path, capsys, monkeypatch):
    """docs/zh/writing-cases.md section 1 is init's real output (the tutorial's other outputs
    come from runs of the same scaffold; this one has no times or ids in it)."""
    tutorial = (Path(__file__).resolve().parents[1] / "docs" / "zh" / "writing-cases.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["init", "my-function", "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    assert f"```console\n$ scftest init my-function\n{printed}```" in tutorial
    suite = (tmp_path / "my-function" / SUITE_FILE).read_text(encoding="utf-8")
    for name in ("向世界问好", "按名字问好", "拒绝空名字", "通过 API 网关应答"):
        assert f"hello::{name}" in tutorial and f"- name: {name}" in suite


@pytest.mark.skipif(INTERPRETERS["3.6"] is None, reason="the scaffold's suite runs on Python3.6, not on this machine")
def test_update_reports_in_chinese(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    assert main(["init", "--lang", "zh"]) == 0
    with (tmp_path / SUITE_FILE).open("a", encoding="utf-8") as suite:
        suite.write("\n  - name: 向团队问好\n    event:\n      name: the team\n")
    capsys.readouterr()
    assert main(["run", "--update", "--lang", "zh", "--color", "no"]) == 0
    out = capsys.readouterr().out
    assert "--update：把 1 条期望写进了 1 个文件" in out
    assert re.search(r"suites/hello\.yaml:\d+: 向团队问好: return: Hello the team", out)
    assert "4 个用例已有期望且成立：保持原样。" in out
    assert "请检查改动（git diff），然后再次运行 scftest run 验证。" in out
    monkeypatch.setenv("CI", "true")
    assert main(["run", "--update", "--lang", "zh"]) == 4
    assert "设置了环境变量 CI（CI=true）时，--update 从不写测试套件文件" in capsys.readouterr().err


def test_runtimes_in_chinese(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["runtimes", "--runtime", "Python3.9=/nonexistent/python", "--lang", "zh"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("Python3.9 "))
    assert line.endswith("没有：Python3.9：--runtime 指定的解释器无法使用：/nonexistent/python 不存在")


def test_events_list_in_chinese(capsys):
    assert main(["events", "--lang", "zh"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert "apigateway    API 网关集成请求（GET /orders/42）" in listing
    assert "cos           cos_put 的别名：通过 PUT 创建的 COS 对象" in listing
    assert main(["events", "--lang", "en"]) == 0
    assert "cos           alias of cos_put: COS object created by PUT" in capsys.readouterr().out.splitlines()


def test_image_list_in_chinese(capsys):
    assert main(["image", "list", "Python3.6", "--lang", "zh"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Python3.6：云端镜像中有 43 个库"
    header = next(line for line in lines if line.startswith("库 "))
    row = next(line for line in lines if line.startswith("absl-py "))
    # the columns line up in terminal columns (a Chinese character takes two)
    from scftest.render import display_width
    assert display_width(header[:header.index("版本")]) == row.index("0.2.2")


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit):
        main(argv)
    return capsys.readouterr().out


def test_every_option_help_is_chinese(capsys):
    text = _help(["run", "--help", "--lang", "zh"], capsys)
    assert "统计用例运行了函数代码的哪些行和分支（docs/ci.md）" in text
    assert "隐含 --cov" in " ".join(text.split())
    assert "每个用例的进程都启动一个全新的解释器" in text
    for command in (["run"], ["validate"], ["doctor"], ["deps"], ["image", "install"], ["events"], ["init"]):
        text = _help(command + ["--help", "--lang", "zh"], capsys)
        for line in text.split("\n\n", 1)[1].splitlines():  # after the usage (its words are the options')
            words = re.sub(r"\[[^]]*\]|\{[^}]*\}|--?[\w-]+|[A-Z][A-Z_/=.]+|scftest|Python[\d.]*", " ", line)
            assert _CHINESE.search(line) or not re.search(r"[a-z]{4,}", words), f"{command}: English help: {line}"


def test_help_headings_end_with_the_catalogs_colon(capsys):
    """On the runner's Python too (3.9-3.12's argparse appends an ASCII colon itself)."""
    chinese = _help(["run", "--help", "--lang", "zh"], capsys).splitlines()
    english = _help(["run", "--help", "--lang", "en"], capsys).splitlines()
    assert "位置参数：" in chinese and "选项：" in chinese and "位置参数:" not in chinese
    assert "positional arguments:" in english and "options:" in english
    def headings(lines):
        return [line for line in lines if line.endswith(("：", ":")) and not line.startswith(" ")]

    assert (headings(chinese), headings(english)) == (["位置参数：", "选项："], ["positional arguments:", "options:"])
    commands = _help(["--help", "--lang", "zh"], capsys)
    assert "\n选项：\n" in commands and not re.search(r"^[^\sA-Za-z][^:\n]*:$", commands, re.M)


def test_events_show_notes_the_delivered_form_in_both_languages(capsys):
    assert main(["events", "show", "cls", "--lang", "zh"]) == 0
    chinese = capsys.readouterr()
    assert main(["events", "show", "cls", "--lang", "en"]) == 0
    english = capsys.readouterr()
    assert chinese.out == english.out  # the template itself is data
    assert english.err.startswith("scftest events: this is what event: merges into; the function receives it as {")
    assert chinese.err.startswith("scftest events: 以上是 event: 所合并进的模板；函数实际收到的是 {")
    assert chinese.err.split("{", 1)[1] == english.err.split("{", 1)[1]


def test_image_installs_heading_in_both_languages():
    from types import SimpleNamespace

    from scftest import i18n
    from scftest.render import install_heading

    python = SimpleNamespace(path="/usr/bin/python3.6", version="3.6.15")
    with i18n.speaking("zh"):
        assert install_heading(2, "Python3.6", python, "/c/site-packages") == (
            "正在用 /usr/bin/python3.6（3.6.15）把 Python3.6 镜像的 2 个库安装到 /c/site-packages")
    assert install_heading(2, "Python3.6", python, "/c/site-packages") == (
        "provisioning 2 of the Python3.6 image's libraries with /usr/bin/python3.6 (3.6.15) into /c/site-packages")


def test_doctor_in_both_languages(capsys):
    """The same findings in the same lines: the names, states and reasons a person reads
    are translated; the isolation's name stays as --isolation spells it."""
    assert main(["doctor", "--isolation", "process", "--lang", "en"]) == 0
    english = capsys.readouterr().out.splitlines()
    assert main(["doctor", "--isolation", "process", "--lang", "zh"]) == 0
    chinese = capsys.readouterr().out.splitlines()
    assert len(chinese) == len(english)
    assert (english[0], chinese[0]) == ("isolation: process", "隔离：process")
    pairs = dict(zip(english, chinese))
    assert pairs["parent-death signal: on the function's process"] == "父进程退出信号：设在函数的进程上"
    assert pairs["    labelled limit: no private /tmp"] == "    已标明的限制：没有私有的 /tmp"
    assert pairs["sealed bootstrap: yes"] == "密封的引导程序：是"
    for line in chinese:
        if not line.startswith("    "):
            assert "：" in line and ": " not in line, line


def test_pyproject_problems_in_both_languages(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.scftest.runtimes]\n"Python3.8" = "/usr/bin/python3.8"\n',
                                             encoding="utf-8")
    assert main(["validate", "--lang", "zh"]) == 4
    assert capsys.readouterr().err == (
        f'scftest: {tmp_path / "pyproject.toml"}：[tool.scftest.runtimes] 的 "Python3.8" 不是 SCF 提供的运行时；'
        "可用的运行时有：Python2.7, Python3.6, Python3.7, Python3.9, Python3.10\n")
    assert main(["validate", "--lang", "en"]) == 4
    assert capsys.readouterr().err == (
        f'scftest: {tmp_path / "pyproject.toml"}: [tool.scftest.runtimes] "Python3.8" is not a runtime SCF offers; '
        "the runtimes are: Python2.7, Python3.6, Python3.7, Python3.9, Python3.10\n")
    (tmp_path / "pyproject.toml").write_text("[tool.scftest]\nsuites = 3\n", encoding="utf-8")
    assert main(["validate", "--lang", "zh"]) == 4
    assert capsys.readouterr().err.endswith(
        "：[tool.scftest] 的 suites 必须是一个文件夹或文件夹列表，而不是 3 —— 例如 suites = [\"suites\", \"more/suites\"]\n")


def test_the_records_imports_line_in_both_languages():
    from scftest import i18n
    from scftest.render import imports_text

    imports = [("index", "code"), ("json", "stdlib"), ("re", "stdlib")]
    assert imports_text(imports) == "code: index; stdlib: 2 modules"
    with i18n.speaking("zh"):
        assert imports_text(imports) == "code: index; stdlib: 2 个模块"
