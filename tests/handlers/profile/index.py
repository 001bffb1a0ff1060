# -*- coding: utf-8 -*-
"""What a runtime profile says, as user code sees it (Python 2.7 and 3.6+)."""
import io
import locale
import logging
import os
import sys

logging.getLogger().debug("debug at import")  # the root logger as the bootstrap left it


def facts(event, context):
    root = logging.getLogger()
    streams = ["stdout" if h.stream is sys.stdout else getattr(h.stream, "name", "?")
               for h in root.handlers if isinstance(h, logging.StreamHandler)]
    this = sys.modules.get(__name__)
    with io.open("/tmp/utf8.txt", "w", encoding="utf-8") as handle:
        handle.write(u"caf\u00e9 \u4f60\u597d")
    with open("/tmp/utf8.txt") as handle:  # the default encoding, as a handler reading a template
        text = handle.read()
    if isinstance(text, bytes):  # Python 2: open() gives bytes; io.open's default is the locale's
        with io.open("/tmp/utf8.txt") as handle:
            text = handle.read()
    names = ("PATH", "LANG", "LC_ALL", "USER", "LOGNAME", "HOME", "PWD", "PYTHONPATH", "TZ",
             "TRIGGER_SRC")
    return {"module": __name__, "in_sys_modules": this is not None and this.__dict__ is globals(),
            "root_level": logging.getLevelName(root.level), "root_streams": streams,
            "cwd": os.getcwd(), "path0": sys.path[0],
            "preferred_encoding": locale.getpreferredencoding(), "read": text,
            "environ": dict((name, os.environ.get(name)) for name in names),
            "context_environment": context["environment"], "context_environ": context["environ"]}


def info_without_setlevel(event, context):
    logging.getLogger().info("an info line, no setLevel")
    logging.getLogger("lib").debug("a library's debug line")
    logging.getLogger().warning("a warning line")
    return "ok"
