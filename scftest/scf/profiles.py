"""Runtime profiles: how each SCF Python runtime behaves, one frozen value per runtime.

The five runtimes SCF offers (Python 2.7, 3.6, 3.7, 3.9 and 3.10, doc 583/40323) each have a
profile, and they are the only runtimes a suite, ``--runtime`` or ``[tool.scftest.runtimes]``
may name (contract 1.1). The bootstrap still runs on 3.8 and 3.11+ (its tests run it there,
so a runtime SCF adds is one profile away): ``profile_for`` gives such an interpreter an
unoffered profile of the same shape.

A profile holds the behaviour as values the bootstrap (_child.py, through its config) and
the runner (scf/environment.py, scf/results.py) follow, and ``facts``: every emulated
behaviour in words, with its basis (confirmed by a source, inferred from one, or chosen by
scftest where no source says) and the source, as scf-runtime.md gives them (S1... at its
end). docs/fidelity.md is made from these (``scftest fidelity``) and a test keeps the two
equal; tests/scf/test_profiles.py checks the values against what the bootstrap really does.
A corrected fact is a change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Tuple

from scftest.scf.limits import LIMITS, Limits
from scftest.scf.results import LOG_FORMAT, LogFormat

CONFIRMED, INFERRED, CHOSEN = "confirmed", "inferred", "chosen"

# How the handler module is named (RuntimeProfile.module_name).
EMPTY_NAME = ""  # imp.load_source("", path) / spec_from_file_location("", path)
FILE_NAME = "file name"  # index.py is module "index"

# Where a handler in a sub-folder (src/app.handler) runs (RuntimeProfile.subfolder).
ENTRY_FOLDER = "entry folder"  # cwd = the entry file's folder, appended to sys.path
CODE_ROOT = "code root"  # cwd = the code root; the entry file's folder right after it on sys.path


@dataclass(frozen=True)
class Fact:
    """One emulated behaviour of one runtime: what scftest does, and why."""

    topic: str  # the behaviour, e.g. "root logger"
    behaviour: str  # what the function sees, in words
    basis: str  # CONFIRMED | INFERRED | CHOSEN
    source: str  # scf-runtime.md's source (S1...) and what it shows, or why it is chosen


@dataclass(frozen=True)
class RuntimeProfile:
    runtime: str  # the SCF spelling, e.g. Python3.6
    version: Tuple[int, int]  # (major, minor) of the interpreter it runs on
    offered: bool = True  # SCF offers the runtime
    root_logger_stream: Optional[str] = None  # where the root logger's handler writes (None: no handler)
    root_logger_level: str = "WARNING"  # the root logger's level when user code starts
    module_name: str = FILE_NAME  # the name the entry file is imported under
    module_in_sys_modules: bool = True  # the entry module is in sys.modules while it runs
    subfolder: str = CODE_ROOT  # how a handler in a sub-folder is run
    pythonpath: Optional[str] = None  # PYTHONPATH the function sees ({code} is the code root)
    preloaded: Tuple[str, ...] = ("json", "logging", "traceback", "decimal")  # imported before user code
    log: LogFormat = LOG_FORMAT
    limits: Limits = LIMITS
    facts: Tuple[Fact, ...] = field(default=(), compare=False)

    def bootstrap_config(self) -> Dict[str, object]:
        """What the bootstrap follows, as plain JSON data (it cannot import scftest)."""
        return {"root_logger_stream": self.root_logger_stream,
                "root_logger_level": self.root_logger_level,
                "module_name": "" if self.module_name == EMPTY_NAME else None,
                "module_in_sys_modules": self.module_in_sys_modules,
                "subfolder_cwd": self.subfolder == ENTRY_FOLDER}


# --- the facts, shared where the runtimes agree ------------------------------------------

S1 = "S1 (Tencent's scfcli, the cloud bootstrap's copy: python2.7/ and python3.6/bootstrap.py)"

CLASSIC_LOADING = (
    Fact("root logger", "a StreamHandler(sys.stdout) (the message alone) at level DEBUG: "
         "logging.info() appears without setLevel, and so do libraries' debug lines", CONFIRMED, S1),
    Fact("handler module name", '__name__ == "" (the entry file is loaded from its path with an '
         'empty module name)', CONFIRMED, S1 + "; I for today's cloud"),
    Fact("handler module in sys.modules", "3.6: no (spec_from_file_location + exec_module); 2.7: "
         "under the empty name \"\" (imp.load_source registers it)", CONFIRMED, S1),
    Fact("handler in a sub-folder", "the working directory is the entry file's folder, which is "
         "appended to sys.path", CONFIRMED, S1),
    Fact("PYTHONPATH", "not set (the bootstrap puts /var/user and /opt on sys.path itself)",
         INFERRED, "S2 prints sys.path, no source shows PYTHONPATH on 2.7/3.6"),
)
NEWER_LOADING = (
    Fact("root logger", "no handler, level WARNING: only WARNING and above reach the log, through "
         "Python's last-resort handler (the message alone), or through the handler basicConfig "
         "adds (logging.warning() and friends call it: WARNING:root:message); a handler's own "
         "basicConfig or addHandler works as on a laptop", INFERRED,
         "no source shows the 3.7+ runtime installing a handler; the 2025 docs' example adds its own"),
    Fact("handler module name", "the entry file's name (index.py is module index)", CONFIRMED,
         "S3: a 3.7 traceback through imp.load_module(name, *imp.find_module(name)); I for 3.9/3.10"),
    Fact("handler module in sys.modules", "yes, under its name", CONFIRMED,
         "S3 (imp.load_module registers it); I for 3.9/3.10"),
    Fact("handler in a sub-folder", "the working directory stays the code root; the entry file's "
         "folder comes right after it on sys.path", CHOSEN,
         "no source shows 3.7+ with a sub-folder handler; both import styles keep working"),
    Fact("PYTHONPATH", "/var/user:/opt (in a plain process: the code root:/opt)", CONFIRMED, "S8, S20"),
)
# The return value's JSON text (RetMsg), which the 6 MB cap counts in characters.
RET_MSG_ESCAPED = Fact("RetMsg", "json.dumps(ret): ASCII-escaped, é is \\u00e9 (6 characters for the cap) and "
                       "an emoji a surrogate pair (12)", CONFIRMED, S1 + ": python2.7/bootstrap.py")
RET_MSG_TEXT = Fact("RetMsg", "json.dumps(ret, ensure_ascii=False): é is one character", CONFIRMED,
                    S1 + ": python3.6/bootstrap.py; I for 3.7+")
COMMON = (
    Fact("runtimes", "Python2.7, Python3.6, Python3.7, Python3.9 and Python3.10; any other runtime is a "
         "suite error", CONFIRMED, "S10 (docs 583/11061, 583/40323)"),
    Fact("initialization phase", "the handler module's import, limited by init_timeout (default 65 s); "
         "timeout covers the call only; an import over it is status 450", CONFIRMED,
         "S9 (initTimeout: 65 in real configs), S7 (450 InitContainerTimeout); the 1-300 s range "
         "and the message are chosen"),
    Fact("Init Report line", "on a cold start whose import completed, after what the import printed: "
         "Coldstart = PullCode (0) + InitRuntime (interpreter start) + InitFunction (the import)",
         CONFIRMED, "S4, S6 (the line and its place); the figures' split is chosen"),
    Fact("Report line", "Duration in whole ms (rounded up), Memory, MemUsage with six decimals, "
         "no billed duration (billed_duration_ms stays in the record)", CONFIRMED, "S4, S6"),
    Fact("Event RequestId line", "not written", INFERRED, "a 2020 capture has it, recent ones (S4, S6) do not"),
    Fact("locale", "LANG=en_US.UTF8 and LC_ALL=en_US.UTF-8 where the machine has that locale, else "
         "C.UTF-8: locale.getpreferredencoding() and open() give UTF-8 on every interpreter",
         CHOSEN, "S8 lists LANG=en_US.UTF8 and LC_ALL (its value not shown); UTF-8 is what the "
         "cloud's locale gives"),
    Fact("USER, LOGNAME, HOME, PWD", "USER=qcloud, LOGNAME=qcloud, HOME=/home/qcloud (not writable, "
         "as in the cloud: write to /tmp), PWD=/var/user (the code root in a plain process)",
         CONFIRMED, "S8"),
    Fact("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (a system PATH, "
         "never the runner's)", CHOSEN, "S8 shows a system PATH; its exact value is not in the sources"),
    Fact("TZ", "set only when the suite's environment sets it; TENCENTCLOUD_TZ=UTC always",
         CONFIRMED, "S20 (doc 583/19805)"),
    Fact("TRIGGER_SRC", "timer for a case with trigger: timer, absent otherwise", CONFIRMED, "S8"),
    Fact("context environment / environ", "the declared variables plus SCF_NAMESPACE; environ "
         "repeats SCF_NAMESPACE as the platform's sample does", CONFIRMED, "S9 (the context sample)"),
)


def _profile(runtime: str, version: Tuple[int, int], classic: bool, **values) -> RuntimeProfile:
    if classic:
        behaviour = dict(root_logger_stream="stdout", root_logger_level="DEBUG", module_name=EMPTY_NAME,
                         module_in_sys_modules=False, subfolder=ENTRY_FOLDER, pythonpath=None,
                         facts=COMMON + CLASSIC_LOADING + (RET_MSG_TEXT,))
    else:
        behaviour = dict(root_logger_stream=None, root_logger_level="WARNING", module_name=FILE_NAME,
                         module_in_sys_modules=True, subfolder=CODE_ROOT, pythonpath="{code}:/opt",
                         facts=COMMON + NEWER_LOADING + (RET_MSG_TEXT,))
    behaviour.update(values)
    return RuntimeProfile(runtime, version, **behaviour)


PROFILES: Dict[str, RuntimeProfile] = {
    profile.runtime: profile for profile in (
        _profile("Python2.7", (2, 7), classic=True, module_in_sys_modules=True,
                 facts=COMMON + CLASSIC_LOADING + (RET_MSG_ESCAPED,)),
        _profile("Python3.6", (3, 6), classic=True),
        _profile("Python3.7", (3, 7), classic=False),
        _profile("Python3.9", (3, 9), classic=False),
        _profile("Python3.10", (3, 10), classic=False),
    )
}


# The sources the facts name (scf-runtime.md's list).
SOURCES = (
    ("S1", "tencentyun/scfcli@ef15508: tcfcli/cmds/native/common/runtime/python3.6/bootstrap.py, "
           "python2.7/bootstrap.py, runtime.py (Tencent's local copy of the cloud bootstrap; also in "
           "the PyPI sdist scf==0.2.8)"),
    ("S2", "a 2020 blog printing the cloud Python3.6 sys.path"),
    ("S3", "a 2022 blog with a Python3.7 443 result and its traceback through "
           "/var/runtime/python37/bootstrap.py"),
    ("S4", "a 2022 blog with a complete real log of a COS-triggered Python 3.6 function"),
    ("S6", "tencentyun/intlcloud-documents@e2e1e3f: the log structure page (日志结构说明_intl_en.md)"),
    ("S7", "tencentyun/qcloud-documents@0432c64: the status code page (云函数状态码.md)"),
    ("S8", "tencentyun/qcloud-documents@0d2ce32: the environment variables page (环境变量.md); doc 583/32748"),
    ("S9", "tencentyun/qcloud-documents@02850fe: how SCF works (工作原理.md: the context sample, "
           "the initialization phase)"),
    ("S10", "docs 583/11061 and 583/40323 (2025-01): the runtimes offered"),
    ("S20", "doc 583/19805: the function's time zone"),
)


def offered() -> Tuple[str, ...]:
    """The runtimes SCF offers, oldest first."""
    return tuple(PROFILES)


def profile_for(runtime: str) -> RuntimeProfile:
    """The profile of ``runtime`` (an SCF spelling, ``Python3.N``): its own when SCF offers
    it, else the newest offered one's behaviour under that name, ``offered=False`` (an
    interpreter the bootstrap's tests run on; no suite can name it)."""
    if runtime in PROFILES:
        return PROFILES[runtime]
    major, _, minor = runtime[len("Python"):].partition(".")
    version = (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (0, 0)
    newest = PROFILES[offered()[-1]]
    if version[0] == 2:
        newest = PROFILES["Python2.7"]
    return replace(newest, runtime=runtime, version=version, offered=False)
