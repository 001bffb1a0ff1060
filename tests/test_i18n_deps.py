"""``scftest deps`` in both languages (issue 18): the same findings on the same lines, the
words for a person translated; the JSON's keys and values for machines (severity, kind,
origins) the same in both."""

from __future__ import annotations

import json
import re

from conftest import needs
from scftest.cli import main

CODE = {
    "index.py": "import json\nimport requests_toolbelt\ntry:\n    import ujson\nexcept ImportError:\n"
                "    ujson = None\nfrom . import nowhere\n\ndef main_handler(event, context):\n    return 1\n",
    "pkg/__init__.py": "from .gone import x\n",
    "bad.py": "x = (\n",
}
MACH_O = b"\xcf\xfa\xed\xfe" + b"\0" * 60  # a macOS build's header


def _folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    monkeypatch.chdir(tmp_path)
    for name, text in CODE.items():
        path = tmp_path / "fn" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "fn" / "fast.so").write_bytes(MACH_O)
    return "fn"


def _deps(capsys, *args):
    code = main(["deps", *args])
    return code, capsys.readouterr()


def _places(text):
    """Each row's severity column stripped: its place (file:line) in order."""
    return re.findall(r"^  \S+\s+(fn/\S+)  ", text, re.M)


@needs("3.6")
def test_the_table_in_both_languages(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path, monkeypatch)
    code_en, english = _deps(capsys, folder, "--lang", "en")
    code_zh, chinese = _deps(capsys, folder, "--lang", "zh")
    assert code_en == code_zh == 1
    en, zh = english.out.splitlines(), chinese.out.splitlines()
    assert len(en) == len(zh) and _places(english.out) == _places(chinese.out) != []
    assert en[0].startswith("fn on Python3.6 (Python 3.6.") and en[0].endswith(": 1 stdlib, 2 missing")
    assert zh[0].startswith("fn，运行时 Python3.6（Python 3.6.") and zh[0].endswith("：标准库 1 个，缺失 2 个")
    pairs = [  # (English, Chinese) on the same line
        ("PROBLEM  fn/index.py:2         `requests_toolbelt` cannot be imported in the cloud: it is not in "
         "Python3.6's standard library",
         "问题     fn/index.py:2         `requests_toolbelt` 在云上无法导入：它不在 Python3.6 的标准库"),
        ("the import is inside try/except ImportError, so the code goes on without it",
         "这个导入位于 try/except ImportError 中，没有它代码也会继续运行"),
        ("relative import `.gone` finds nothing: there is no module gone in the package pkg",
         "相对导入 `.gone` 找不到任何东西：包 pkg 中没有模块 gone"),
        ("compiled module `fast` is a macOS build (Mach-O): Python3.6 cannot load it",
         "编译模块 `fast` 是macOS 版本（Mach-O）：Python3.6 无法加载它"),
        ("what to do (missing): vendor it into the code folder",
         "怎么办（缺失）：请用该运行时自己的 Python 把它安装进代码文件夹"),
    ]
    for in_english, in_chinese in pairs:
        at = next(i for i, line in enumerate(en) if in_english in line)
        assert in_chinese in zh[at], (in_chinese, zh[at])
    assert re.fullmatch(r"deps: 1 function\(s\) checked: 3 problem\(s\), 3 warning\(s\) \(\d+\.\d\d s\)", en[-1])
    assert re.fullmatch(r"deps: 检查了 1 个函数：3 个问题，3 个警告（\d+\.\d\d 秒）", zh[-1])


@needs("3.6")
def test_the_json_keeps_the_machines_words(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path, monkeypatch)
    english = json.loads(_deps(capsys, folder, "--json", "-", "--lang", "en")[1].out)
    chinese = json.loads(_deps(capsys, folder, "--json", "-", "--lang", "zh")[1].out)

    def machine(document):
        return [{k: v for k, v in finding.items() if k not in ("message", "hint")}
                for function in document["functions"] for finding in function["findings"]]

    assert machine(english) == machine(chinese) != []
    assert english["functions"][0]["modules"] == chinese["functions"][0]["modules"]
    said = {f["kind"]: f["message"] for f in chinese["functions"][0]["findings"]}
    assert said["binary"] == "编译模块 `fast` 是macOS 版本（Mach-O）：Python3.6 无法加载它"
    assert chinese["functions"][0]["findings"][0]["hint"].startswith("请用该运行时自己的 Python")


def test_a_python_file_is_refused_in_both_languages(tmp_path, monkeypatch, capsys):
    _folder(tmp_path, monkeypatch)
    code, chinese = _deps(capsys, "fn/index.py", "--lang", "zh")
    assert code == 4 and chinese.err == (
        "scftest: fn/index.py 是一个 Python 文件：请给出它的代码文件夹（即 zip 包的根目录），例如 scftest deps fn\n")
    code, english = _deps(capsys, "fn/index.py", "--lang", "en")
    assert code == 4 and english.err == (
        "scftest: fn/index.py is a Python file: give its code folder (what the zip's root would be), "
        "e.g. scftest deps fn\n")
