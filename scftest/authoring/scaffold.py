"""``scftest init``: a function and a suite that pass at once, for people starting from nothing.

What it writes, relative to the target folder:

- ``functions/hello/index.py``: SCF's hello-world handler, with an error path and an
  API Gateway handler, runnable on Python 2.7 and 3.6+.
- ``suites/hello.yaml``: four cases whose comments explain every key. Its first line points
  editors at the schema, so keys complete and typos underline while typing.
- ``.scftest/suite.schema.json``: a copy of the schema scftest ships. A copy, not the path of
  the installed file, because the suite's ``$schema`` line must keep working when the folder is
  committed and opened on another machine or with another virtualenv. ``scftest schema >
  .scftest/suite.schema.json`` refreshes it after an upgrade.
- ``pyproject.toml``, only when the folder has none: its ``[tool.scftest]`` table makes the folder
  a project root, so ``scftest run`` without paths runs these suites even when the folder sits
  inside a bigger repository that has its own pyproject.toml or ``suites/``.
- ``.vscode/settings.json``, only when the folder has none: VS Code's YAML extension underlines
  every ``!json`` as an unknown tag unless ``yaml.customTags`` declares scftest's tags, and a
  first look at a suite full of red marks is the wrong welcome (docs/editors.md explains it).

Nothing is ever overwritten: when a file already exists, ``init_project`` creates nothing and
names every file in the way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

from scftest import i18n
from scftest.errors import ScftestError
from scftest.load.loader import tag_forms
from scftest.load.validate import SCHEMA_PATH

SCHEMA_COPY = Path(".scftest") / "suite.schema.json"
SUITE_FILE = Path("suites") / "hello.yaml"
HANDLER_FILE = Path("functions") / "hello" / "index.py"
PYPROJECT = Path("pyproject.toml")
VSCODE_SETTINGS = Path(".vscode") / "settings.json"


class InitError(ScftestError, ValueError):
    """``scftest init`` cannot scaffold into the target; the message says why in plain words."""


# The function's code, the same in both languages; only its comments are translated.
_HANDLER_CODE = '''\
import json
import os


def main_handler(event, context):
    print("Received event: " + json.dumps(event, indent=2))
    print("Received context: " + str(context))
    name = event.get("name", "World")
    if not name:
        raise ValueError("name must not be empty")
    return "%s %s" % (os.environ.get("GREETING", "Hello"), name)


def api_handler(event, context):
    """API_DOC"""
    print("%s %s" % (event.get("httpMethod"), event.get("path")))
    name = (event.get("queryString") or {}).get("name", "World")
    return {
        "isBase64Encoded": False,
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": "Hello %s" % name}),
    }
'''

HANDLER_TEXT = '''\
# -*- coding: utf8 -*-
# SCF's hello-world function, as the console creates it, with two additions for the suite:
# an error path (an empty name) and a handler for calls through API Gateway.
# It runs on Python 2.7 and on every Python 3 runtime.
''' + _HANDLER_CODE.replace("API_DOC", "Called by API Gateway: reads ?name=... and answers with an HTTP response.")

# The schema line is relative to the suite file: suites/ -> ../.scftest/.
SUITE_TEXT = """\
# yaml-language-server: $schema=../.scftest/suite.schema.json
# A scftest suite. Each case below calls the function once, in a fresh process, and checks
# what happened. Run every suite of this folder with:   scftest run
# Indent with spaces, never tabs. A "#" starts a comment, like this line.

name: hello                           # the suite's name in reports (default: the file's name)
description: SCF's hello world        # free text, for the people who read this file

function:                             # settings shared by every case below
  code: ../functions/hello            # the folder with the function's code, relative to this file
  handler: index.main_handler         # <file>.<function>: main_handler in index.py
  runtime: Python3.6                  # the SCF runtime: Python2.7, Python3.6, Python3.7, ...
  timeout: 3                          # seconds before the function is stopped (SCF's default)
  memory: 128                         # MB, as in the SCF console
  environment:                        # variables the function sees; every value is text, so
    GREETING: Hello                   # quote numbers and yes/no: LIMIT: "10", ENABLED: "yes"

cases:                                # the list of cases; each one starts with "- name:"
  - name: greets the world            # required, and unique within this file
    event: {}                         # the event the function receives; {} is an empty event
    expect:                           # what must hold; without expect, the call only has to succeed
      return: Hello World             # the exact value the function returns
      log:                            # text that must appear in the function's log
        - Received event

  - name: greets by name
    event:
      name: Ada
    expect:
      return: Hello Ada

  - name: refuses an empty name
    event:
      name: ""                        # "" is empty text
    expect:
      error:                          # the call must fail with an exception ...
        type: ValueError              # ... of this class ...
        message: '^name must not be empty'   # ... whose message matches; ^ means "starts with"

  - name: answers through API Gateway
    handler: index.api_handler        # any function setting can be changed for one case
    trigger: apigateway               # start from SCF's API Gateway event ("scftest events" lists them) ...
    event:                            # ... and change only what this case is about
      httpMethod: GET
      path: /hello
      queryString:                    # the URL's ?name=Ada
        name: Ada
    expect:
      return_includes:                # these keys must match; the response may hold others too
        statusCode: 200
        body: !json                   # the body is JSON text: read it, then compare
          message: Hello Ada
"""

HANDLER_TEXT_ZH = '''\
# -*- coding: utf8 -*-
# SCF 的 hello world 函数（与控制台新建的示例函数相同），为测试套件加了两处：
# 一个出错的分支（name 为空时），以及一个供 API 网关触发器调用的入口函数。
# 它可以在 Python 2.7 和所有 Python 3 运行时上运行。
''' + _HANDLER_CODE.replace("API_DOC", "由 API 网关调用：读取 ?name=...，返回一个 HTTP 响应。")

SUITE_TEXT_ZH = """\
# yaml-language-server: $schema=../.scftest/suite.schema.json
# 一个 scftest 测试套件。下面每个用例都在一个全新的进程中调用一次函数，并检查结果。
# 运行这个文件夹中的所有测试套件：   scftest run
# 请用空格缩进，不要用 Tab。"#" 开始一条注释，就像这一行。

name: hello                           # 测试套件在报告中的名字（默认取文件名）
description: SCF 的 hello world       # 说明文字，写给阅读这个文件的人

function:                             # 下面所有用例共用的函数配置
  code: ../functions/hello            # 函数代码所在的文件夹，相对于本文件
  handler: index.main_handler         # <文件>.<函数>：index.py 中的 main_handler
  runtime: Python3.6                  # SCF 运行时：Python2.7、Python3.6、Python3.7 ……
  timeout: 3                          # 超时时间（秒），超过后函数被终止（SCF 的默认值）
  memory: 128                         # 内存（MB），与 SCF 控制台中的配置相同
  environment:                        # 函数能看到的环境变量；每个值都是文本，所以
    GREETING: Hello                   # 数字和 yes/no 要加引号：LIMIT: "10"，ENABLED: "yes"

cases:                                # 用例列表；每个用例以 "- name:" 开头
  - name: 向世界问好                  # 必填，在本文件中不能重复
    event: {}                         # 函数收到的事件；{} 是一个空事件
    expect:                           # 必须满足的期望；没有 expect 时，只要调用成功即可
      return: Hello World             # 函数的返回值必须与此完全相同
      log:                            # 函数日志中必须出现的文本
        - Received event

  - name: 按名字问好
    event:
      name: Ada
    expect:
      return: Hello Ada

  - name: 拒绝空名字
    event:
      name: ""                        # "" 是空文本
    expect:
      error:                          # 调用必须以异常失败 ……
        type: ValueError              # …… 异常属于这个类 ……
        message: '^name must not be empty'   # …… 且异常消息匹配这个正则；^ 表示“以……开头”

  - name: 通过 API 网关应答
    handler: index.api_handler        # 任何函数配置都可以只为一个用例修改
    trigger: apigateway               # 从 SCF 的 API 网关触发器事件开始（"scftest events" 列出所有模板）……
    event:                            # …… 只修改这个用例关心的部分
      httpMethod: GET
      path: /hello
      queryString:                    # URL 中的 ?name=Ada
        name: Ada
    expect:
      return_includes:                # 这些键必须匹配；响应中还可以有别的键
        statusCode: 200
        body: !json                   # body 是 JSON 文本：先解析，再比较
          message: Hello Ada
"""

# What init writes, by language (i18n's current one); every other file is the same in both.
HANDLER_TEXTS = {i18n.ENGLISH: HANDLER_TEXT, i18n.CHINESE: HANDLER_TEXT_ZH}
SUITE_TEXTS = {i18n.ENGLISH: SUITE_TEXT, i18n.CHINESE: SUITE_TEXT_ZH}

PYPROJECT_TEXT = """\
# Makes this folder a project for scftest: "scftest run" without paths runs these suites.
[tool.scftest]
suites = ["suites"]

# Use a particular interpreter for a runtime (paths relative to this folder):
# [tool.scftest.runtimes]
# "Python3.6" = "/usr/local/bin/python3.6"
"""


@dataclass(frozen=True)
class _Planned:
    path: Path  # relative to the target
    text: str
    optional: bool = False  # left alone, not a conflict, when it already exists


# Each tag with the shape of what may follow it: what yaml.customTags needs to accept it.
CUSTOM_TAGS = tuple(f"{tag} {form}" for tag, form in tag_forms())


def _vscode_settings() -> str:
    settings = {
        "yaml.schemas": {SCHEMA_COPY.as_posix(): ["suites/**/*.yaml", "suites/**/*.yml"]},
        "yaml.customTags": list(CUSTOM_TAGS),
    }
    return json.dumps(settings, indent=2) + "\n"


def _plan() -> List[_Planned]:
    return [
        _Planned(HANDLER_FILE, HANDLER_TEXTS[i18n.current()]),
        _Planned(SUITE_FILE, SUITE_TEXTS[i18n.current()]),
        _Planned(SCHEMA_COPY, SCHEMA_PATH.read_text(encoding="utf-8")),
        # An existing pyproject.toml already makes the folder a project root, and suites/ is
        # where scftest looks by default: leave the user's file alone.
        _Planned(PYPROJECT, PYPROJECT_TEXT, optional=True),
        _Planned(VSCODE_SETTINGS, _vscode_settings(), optional=True),  # the user's own settings win
    ]


def init_project(target: Path) -> List[Path]:
    """Scaffold a function and a passing suite into ``target``; return the files created.

    Raises InitError, creating nothing, when ``target`` is a file or any file to be written
    already exists.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InitError(i18n._("{target} is a file; give scftest init a folder (new or existing)").format(target=target))
    to_write, conflicts = _split(target, _plan())
    if conflicts:
        names = ", ".join(str(p) for p in conflicts)
        raise InitError(i18n._("scftest init did not change anything, because these files already exist in {target}: "
                               "{names}. Move them away, or choose another folder: scftest init NEW_FOLDER").format(
            target=target, names=names))
    created = []
    for item in to_write:
        path = target / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": fail rather than overwrite should a file appear between the check and now.
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(item.text)
        created.append(path)
    return created


def _split(target: Path, planned: List[_Planned]) -> Tuple[List[_Planned], List[Path]]:
    """(files to write, existing files that block the scaffold)."""
    to_write, conflicts = [], []
    for item in planned:
        if (target / item.path).exists():
            if not item.optional:
                conflicts.append(item.path)
        else:
            to_write.append(item)
    return to_write, conflicts


def next_steps(target: Path) -> str:
    """What ``scftest init`` prints after scaffolding into ``target``."""
    shown = _shown(Path(target))
    go = f"  cd {shown}\n" if shown != "." else ""
    return i18n._("""\
Created a function and a suite in {folder}:
  functions/hello/index.py     the function: SCF's hello world, with an error path and an API Gateway handler
  suites/hello.yaml            four cases; the comments explain every key
  .scftest/suite.schema.json   lets your editor complete keys and underline typos (see docs/editors.md)
  .vscode/settings.json        VS Code settings for the suites (kept as it was if you had one)

Next steps:
{cd}  scftest run                  run the suites: all four cases pass
  open suites/hello.yaml       copy a case (from "- name:" to the next one), change the event
  scftest run --update         write what the function returned into cases that have no expect yet
  scftest run -v               one line per case, with what the function returned

The tutorial is docs/writing-cases.md in scftest's documentation.
""").format(folder=shown, cd=go)


def _shown(target: Path) -> str:
    """The target as the user would type it: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(target.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive on Windows
        return str(target)
    return str(target) if relative.startswith("..") else relative
