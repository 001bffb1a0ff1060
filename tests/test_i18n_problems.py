"""Suite problems in both languages (issue 18, area b): the loader's messages, hints and
"did you mean" in Chinese at exactly the file:line:col positions of the English ones."""

from __future__ import annotations

import re

import pytest

from scftest.cli import main
from scftest.i18n import speaking
from scftest.load.loader import load_paths

FN = "function: {code: ., handler: index.main_handler}\n"

# (file, its text, what English says there, what Chinese says there)
EXPECTED = [
    ("typos.yaml", "function:\n  code: .\n  handler: index.main_handler\n  runtim: Python3.6\n"
                   "cases:\n  - name: one\n    expect:\n      status: sucess\n  - name: two\n    timeout: \"x\"\n",
     "unknown key 'runtim' in function — did you mean 'runtime'?",
     "function 中有未知的键 'runtim' —— 您是不是想写 'runtime'？"),
    ("status.yaml", FN + "cases:\n  - name: one\n    expect:\n      status: sucess\n",
     "case 'one': expect.status cannot be 'sucess' — did you mean 'success'?",
     "用例 'one'：expect.status 不能是 'sucess' —— 您是不是想写 'success'？"),
    ("timeout.yaml", FN + "cases:\n  - name: two\n    timeout: \"x\"\n",
     "case 'two': timeout must be a whole number, not the text 'x' — write it like this, e.g.",
     "用例 'two'：timeout 必须是整数，而不是文本 'x' —— 请这样写，例如"),
    ("tab.yaml", "cases:\n  - name: a\n\tevent: {}\n",
     "this line is indented with a Tab character; YAML indents with spaces only",
     "这一行用 Tab 字符缩进；YAML 只能用空格缩进"),
    ("regex.yaml", FN + "cases:\n  - name: r\n    expect:\n      log:\n        - regex: '('\n",
     "log[0].regex '(' is not a valid regular expression", "log[0].regex '(' 不是有效的正则表达式"),
    ("matcher.yaml", FN + "cases:\n  - name: m\n    event: {id: !any }\n",
     "the matcher !any is only allowed inside expect: return, return_includes or ret_msg",
     "匹配器 !any 只能用在 expect: 的 return、return_includes 或 ret_msg 里"),
    ("tag.yaml", FN + "cases:\n  - name: t\n    event: !nosuch 1\n",
     "unknown YAML tag !nosuch", "未知的 YAML 标签 !nosuch"),
    ("code.yaml", "function: {code: missing-folder, handler: index.main}\ncases:\n  - name: c\n",
     "the code folder 'missing-folder' does not exist", "code 文件夹 'missing-folder' 不存在"),
    ("handler.yaml", "function: {code: ., handler: main}\ncases:\n  - name: h\n",
     "handler 'main' is not of the form <file>.<function>", "handler 'main' 不是 <文件>.<函数> 的形式"),
    ("twice.yaml", FN + "cases:\n  - name: same\n  - name: same\n",
     "the case name 'same' is used twice (first at line 3) — give every case its own name",
     "用例名 'same' 重复了（第一次出现在第 3 行） —— 请给每个用例起一个不同的名字"),
    ("memory.yaml", "function: {code: ., handler: index.main_handler, memory: 100}\ncases:\n  - name: m\n",
     "function.memory has a value that is not allowed: 100 — MB: 64, or 128 to 3072 in steps of 128 (SCF's "
     "default is 128), e.g. memory: 128",
     "function.memory 的值不允许：100 —— 单位为 MB：64，或 128 到 3072 之间 128 的倍数（SCF 的默认值为 128），"
     "例如 memory: 128"),
    ("event.yaml", FN + "cases:\n  - name: e\n    event_file: nowhere.json\n",
     "the event file 'nowhere.json' does not exist", "事件文件 'nowhere.json' 不存在"),
]


@pytest.fixture
def suites(tmp_path):
    for name, text, _, _ in EXPECTED:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _problems(folder, language):
    with speaking(language):
        loaded = load_paths([folder])
        return [str(p) for p in loaded.problems]


def _position(line):
    return re.match(r"^(.*?\.ya?ml(?::\d+:\d+)?): ", line).group(1)


def test_the_same_problems_at_the_same_places(suites):
    english, chinese = _problems(suites, "en"), _problems(suites, "zh")
    assert len(english) == len(chinese) >= len(EXPECTED)
    assert [_position(line) for line in english] == [_position(line) for line in chinese]
    for file, _, in_english, in_chinese in EXPECTED:
        said_en = [line for line in english if line.startswith(str(suites / file)) and in_english in line]
        said_zh = [line for line in chinese if line.startswith(str(suites / file)) and in_chinese in line]
        assert said_en, (in_english, english)
        assert said_zh, (in_chinese, chinese)
        assert [_position(line) for line in said_en] == [_position(line) for line in said_zh]


def test_validate_in_chinese_through_the_command(suites, capsys, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert main(["validate", str(suites / "typos.yaml")]) == 4
    out = capsys.readouterr().out
    assert f"{suites / 'typos.yaml'}:4:3: function 中有未知的键 'runtim' —— 您是不是想写 'runtime'？" in out
    assert main(["validate", str(suites / "typos.yaml"), "--lang", "en"]) == 4
    assert f"{suites / 'typos.yaml'}:4:3: unknown key 'runtim' in function — did you mean 'runtime'?" in \
        capsys.readouterr().out


# function.from's problems are reported at their line in the from-file (scftest/load/from_file.py).
FROM_FILES = {
    "sls.yml": "component: scf\ninputs:\n  src: {bucket: b, object: c.zip}\n  layers: [{name: common, version: 2}]\n",
    "template.yaml": "Resources:\n  default:\n    Type: TencentCloud::Serverless::Namespace\n    f:\n"
                     "      Type: TencentCloud::Serverless::Function\n      Properties:\n        CodeUri: ./nowhere\n",
    "other.yml": "component: express\ninputs: {}\n",
}
FROM_EXPECTED = [  # (from-file, English, Chinese)
    ("sls.yml", "inputs has no runtime, and the SCF component then deploys Nodejs10.15 (function.from of",
     "inputs 中没有 runtime，这时 SCF 组件会部署 Nodejs10.15（"),
    ("sls.yml", "the code is not a local folder (a COS bucket or object?)", "代码不是本地文件夹（是 COS 存储桶或对象？）"),
    ("sls.yml", "the function uses the cloud layers common (version 2), whose contents scftest does not have",
     "函数使用了云端的层 common（版本 2），scftest 没有这些层的内容"),
    ("template.yaml", "Properties has no Handler, which TCSAM requires", "Properties 中没有 TCSAM 要求的 Handler"),
    ("template.yaml", "the code folder './nowhere' does not exist", "代码文件夹 './nowhere' 不存在"),
    ("other.yml", "component 'express' is not the SCF component", "组件 'express' 不是 SCF 组件"),
    ("missing.yml", "function.from: the file 'missing.yml' does not exist", "function.from：文件 'missing.yml' 不存在"),
]


def test_function_from_problems_in_both_languages(tmp_path):
    for name, text in FROM_FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for index, name in enumerate(sorted({file for file, _, _ in FROM_EXPECTED})):
        (tmp_path / f"s{index}.yaml").write_text(f"function: {{from: {name}}}\ncases: [{{name: c}}]\n", encoding="utf-8")
    english, chinese = _problems(tmp_path, "en"), _problems(tmp_path, "zh")
    assert len(english) == len(chinese) >= len(FROM_EXPECTED)
    assert [_position(line) for line in english] == [_position(line) for line in chinese]
    for file, in_english, in_chinese in FROM_EXPECTED:
        at = [i for i, line in enumerate(english) if in_english in line]
        assert at and in_chinese in chinese[at[0]], (in_english, english, chinese)
        if file != "missing.yml":  # at its line in the from-file, naming the suite's from:
            assert english[at[0]].startswith(f"{tmp_path / file}:")
            assert re.search(r"（\S+s\d\.yaml:1 的 function\.from）", chinese[at[0]]), chinese[at[0]]
    hinted = [line for line in chinese if "Properties 中没有 TCSAM 要求的 Handler" in line]
    assert hinted and hinted[0].endswith("—— 请添加 Handler: index.main_handler，或在测试套件中写 handler:")
