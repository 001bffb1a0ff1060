# -*- coding: utf-8 -*-
"""scftest's bootstrap: runs an SCF instance (a cold start, and the warm invocations after it)
inside the handler's own interpreter.

Run as a script, never imported by the runner:

    python -u -s _child.py CONFIG_PATH RESULT_FD GO_FD (the runner hands over a sealed
                                                        compiled copy: /proc/self/fd/N)
    python -s -E _child.py --probe PLAN                (scftest doctor: can an instance be made?)

It must run unchanged on Python 2.7 and 3.6+, so it uses the standard library only and
the syntax common to both. Every per-case process pays for this file's start-up, so it
imports next to nothing eagerly: ``json``, ``logging`` and ``traceback`` are loaded only
when they are needed (see "Keeping start-up cheap" below).

What it does, in order (scftest/instance/spawn.py is the other end):

1. reads the config the parent wrote (JSON) and deletes the file at once;
2. makes RESULT_FD close-on-exec, so processes the handler spawns cannot write to it;
3. enters the case's instance (see "The instance" below): its cgroups, its namespaces and
   file system, no capabilities; from here on it is the function's process;
4. sets resource limits (an address-space safety net, SCF's 1024 file descriptors);
5. makes stdout/stderr write UTF-8 (SCF's LANG is en_US.UTF8) and sets the root logger
   up as the runtime's profile says (2.7/3.6: a stdout handler at DEBUG);
6. puts the code root first on sys.path and makes it the working directory;
7. sends a "ready" frame (the parent starts the init_timeout there), imports the handler
   module (SCF's initialization phase), sends a "loaded" frame, waits for the parent's
   byte on GO_FD (the parent has read the import's output by then, and starts the
   ``timeout`` there), calls ``handler(event, context)`` positionally,
   serializes the return value as SCF does, sends one "result" frame and closes the
   channel, then lingers until the parent ends the case (the cloud keeps the process
   warm, so atexit hooks and non-daemon threads never delay the answer);
8. in a warm instance (config["warm"]: a request pipe and one more channel per further
   invocation), it first serves each request the parent sends on the pipe with the
   module already loaded: a "loaded" frame as the call starts, the result, the close of
   that invocation's own channel (see ``serve``).

Handler lookup. ``<file>.<function>``: ``<file>`` is a path relative to the code root
without ``.py``; ``src/app.handler`` loads ``src/app.py``. The file is loaded from that
exact path (never by searching sys.path, which could pick a same-named module elsewhere),
never as ``__main__``, and as the runtime's profile says (config["profile"], from
scftest/scf/profiles.py): under an empty name and outside sys.modules on 3.6 (2.7's
imp.load_source registers the empty name), as the 2.7/3.6 cloud bootstrap does; under its
file name (``index``, ``app``) in sys.modules on 3.7+. For a handler in a sub-folder the
code root is sys.path[0]; the 2.7/3.6 bootstrap changes into the entry file's folder and
appends it to sys.path, and on 3.7+ the code root stays the working directory with the
entry file's folder right after it on sys.path, so both ``import sibling`` and ``from src
import sibling`` work. The root logger is set up as the profile says too.

Timing. The parent times everything from the frames' arrival: the import (SCF's
initialization phase, limited by ``init_timeout``) from "ready" to "loaded", the call (what
SCF bills, limited by ``timeout``) from its go byte to "result"; no frame carries a figure a
handler could forge, and the bootstrap only signals that the import is done.

The channel. Frames on RESULT_FD (never stdout, which the handler owns) are::

    SCFT <kind> <length>\\n<payload of length bytes>END\\n

and the payload is a run of fields ``<name> <length>\\n<bytes>\\n`` (UTF-8 text). The
lengths and the END marker let the parent tell a complete frame from a truncated or
garbled one. Each kind comes once, in order; the close after the result ends the answer,
so a frame the handler itself writes on the channel garbles it (a crash, never a result).
"""

import os
import sys

PY2 = sys.version_info[0] == 2
# The compiled code's own file name (what tracebacks show), whatever __file__ says.
THIS_FILE = (lambda: None).__code__.co_filename
# SCF's response cap ("body size is too long", 407), in characters of the JSON text: the
# runtime compares len() of what json.dumps returned.
MAX_RET_MSG_CHARS = 6 * 1024 * 1024
BODY_TOO_LONG = "body size is too long"
# Modules the cloud runtime has imported before user code runs. A user file with one of
# these names at the code root is therefore never imported by ``import json`` in the
# cloud; scftest preloads the real module in that case so the same holds here.
CLOUD_PRELOADED = ("json", "logging", "traceback", "decimal")
EXIT_CHANNEL_LOST = 70  # the result could not be written (the handler closed the fd?)

if PY2:
    text_type = unicode  # noqa: F821 (Python 2 only)
else:
    text_type = str

try:
    from time import perf_counter as now
except ImportError:  # Python 2
    from time import time as now


# ---------------------------------------------------------------------------------------
# Keeping start-up cheap: stdlib modules the bootstrap itself needs are imported lazily,
# from the standard library only (the code root must not shadow them for the bootstrap).

# sys.path[0] is this script's folder, and PYTHONPATH (the runtime's /var/user:/opt on 3.7+)
# holds the user's code: neither is the standard library.
def stdlib_path():
    return [p for p in sys.path[1:] if p not in os.environ.get("PYTHONPATH", "").split(os.pathsep)]


STDLIB_PATH = stdlib_path()


def stdlib(name):
    """Import ``name`` from the interpreter's own library, never from the code root."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    saved = sys.path[:]
    sys.path[:] = STDLIB_PATH
    try:
        __import__(name)
    finally:
        sys.path[:] = saved
    return sys.modules[name]


# ---------------------------------------------------------------------------------------
# The channel to the parent.

def to_bytes(value):
    if isinstance(value, bytes):
        return value
    if not isinstance(value, text_type):
        value = text_type(value)
    # backslashreplace: a lone surrogate must not break the frame.
    return value.encode("utf-8", "backslashreplace")


class Channel(object):
    def __init__(self, fd):
        self.fd = fd

    def send(self, kind, fields):
        parts = []
        for name, value in fields:
            if value is None:
                continue
            data = to_bytes(value)
            parts.append(b"".join([name.encode("ascii"), b" ",
                                   str(len(data)).encode("ascii"), b"\n", data, b"\n"]))
        body = b"".join(parts)
        frame = b"".join([b"SCFT ", kind.encode("ascii"), b" ",
                          str(len(body)).encode("ascii"), b"\n", body, b"END\n"])
        view = memoryview(frame)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


def close_on_exec(fd):
    if hasattr(os, "set_inheritable"):
        os.set_inheritable(fd, False)
    else:  # Python 2
        import fcntl
        flags = fcntl.fcntl(fd, fcntl.F_GETFD)
        fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


# ---------------------------------------------------------------------------------------
# Reading the config.

JSON_AS_LITERAL_MAX = 256 * 1024


def parse_json(text):
    """``json.loads(text)``, without importing json for ordinary (small) configs.

    The parent writes the config with ``json.dumps(..., ensure_ascii=False)``, whose
    output is also a Python expression with the same meaning once true/false/null are
    names, except for surrogate escapes (``\\ud83d``, from lone surrogates) and ``\\/``
    (which json.dumps never writes): those, and anything the compiler refuses (deep
    nesting), go to the json module. Importing json costs several milliseconds per case
    on Python 3; this costs a fraction of one.
    """
    scan = json_scanner()
    if scan is not None:
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError):
            value, end = None, -1
        if end >= 0 and not text[end:].strip(" \t\n\r"):
            return value
    elif len(text) <= JSON_AS_LITERAL_MAX and "\\ud" not in text and "\\/" not in text:
        flags = 0
        if PY2:  # string literals must be unicode, as json.loads makes them
            flags = __import__("__future__").unicode_literals.compiler_flag
        try:
            code = compile(text, "<scftest config>", "eval", flags, True)
            names = {"__builtins__": {}, "true": True, "false": False, "null": None,
                     "NaN": float("nan"), "Infinity": float("inf")}
            return eval(code, names)
        except Exception:
            pass
    return stdlib("json").loads(text)


_SCANNER = []  # json's C scanner, made once per process (a fork inherits its zygote's)


class _ScanContext(object):
    """What json's C scanner reads of a JSONDecoder: json.loads's defaults."""
    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int

    def __init__(self):
        self.parse_constant = {"NaN": float("nan"), "Infinity": float("inf"),
                               "-Infinity": float("-inf")}.__getitem__


def json_scanner():
    """json.loads's own C scanner (``_json.make_scanner``) on Python 3, without importing
    the json package (several milliseconds per case); ``_json`` leaves sys.modules again,
    so what a handler finds imported is as before. None where there is none (Python 2's
    needs an encoding; a build without _json): parse_json has another way."""
    if not _SCANNER:
        scan = None
        if not PY2:
            had = "_json" in sys.modules
            try:
                scan = __import__("_json").make_scanner(_ScanContext())
            except (ImportError, AttributeError, TypeError):
                scan = None
            if not had:
                sys.modules.pop("_json", None)
        _SCANNER.append(scan)
    return _SCANNER[0]


def read_config(path):
    """The config, from an in-memory file the runner handed over as /proc/self/fd/N
    (the descriptor closed once read), or from a file (deleted once read)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if handed_fd(path) is not None:
        os.close(handed_fd(path))
    else:
        os.unlink(path)
    return parse_json(data.decode("utf-8"))


def handed_fd(path):
    """N for a path /proc/self/fd/N (what the runner hands over in memory), else None."""
    prefix = "/proc/self/fd/"
    number = path[len(prefix):] if path.startswith(prefix) else ""
    return int(number) if number.isdigit() else None


# ---------------------------------------------------------------------------------------
# The process: limits, stdio, logging, paths.

def set_limits(config):
    import resource
    address_space = config.get("address_space_limit")
    if address_space:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > 1024:  # SCF: 1024 file descriptors
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, min(hard, 1024)
                                                    if hard != resource.RLIM_INFINITY else 1024))


class Utf8Writer(object):
    """Python 2: write unicode as UTF-8 rather than fail on a pipe, like SCF's runtime."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        if isinstance(text, text_type):
            text = text.encode("utf-8")
        self._stream.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def utf8_stdio():
    """stdout/stderr write UTF-8 whatever the local locale, unbuffered so they interleave
    in the order written (both go to the same pipe). SCF sets LANG=en_US.UTF8, so stdout
    is strict and stderr uses backslashreplace, Python's defaults under a UTF-8 locale."""
    if PY2:
        sys.stdout = Utf8Writer(sys.stdout)
        sys.stderr = Utf8Writer(sys.stderr)
        return
    for name, errors in (("stdout", "strict"), ("stderr", "backslashreplace")):
        stream = getattr(sys, name)
        if hasattr(stream, "reconfigure"):  # 3.7+; -u already made it write-through
            stream.reconfigure(encoding="utf-8", errors=errors)
        else:  # 3.6: the original stays referenced by sys.__stdout__, so fd 1 stays open
            import io
            setattr(sys, name, io.TextIOWrapper(stream.buffer, encoding="utf-8",
                                                errors=errors, write_through=True))


def configure_root_logger(logging, profile):
    """The root logger as the runtime's bootstrap leaves it (the profile says): the 2.7
    and 3.6 bootstraps give it a StreamHandler(sys.stdout) (no format: the message alone)
    and level DEBUG; for 3.7+ no source shows a handler, so there is none and the level
    stays Python's default WARNING."""
    stream = profile.get("root_logger_stream")
    root = logging.getLogger()
    if stream is not None and not root.handlers:
        root.addHandler(logging.StreamHandler(getattr(sys, stream)))
    root.setLevel(getattr(logging, profile.get("root_logger_level") or "WARNING"))


class ConfigureAfterExec(object):
    """Wraps logging's real loader: run it, then configure the root logger."""

    def __init__(self, loader, profile):
        self._loader = loader
        self._profile = profile

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader  # leave no trace of the wrapper
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        configure_root_logger(module, self._profile)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class LoggingHook(object):
    """Configures the root logger the moment anything imports ``logging``.

    Importing logging costs ~5 ms on Python 3; most handlers do import it, but a bare one
    should not pay. The result is the same as configuring it up front: nothing can log
    before logging is imported. Python 3 uses find_spec, Python 2 find_module.
    """

    def __init__(self, profile):
        self._profile = profile

    def _remove(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        self._remove()
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = ConfigureAfterExec(spec.loader, self._profile)
                return spec
        return None

    def find_module(self, name, path=None):  # Python 2
        return self if name == "logging" and PY2 else None

    def load_module(self, name):  # Python 2
        self._remove()
        module = stdlib(name)
        configure_root_logger(module, self._profile)
        return module


def prepare_logging(profile):
    """Nothing to do where the runtime leaves logging alone (no handler, WARNING)."""
    if profile.get("root_logger_stream") is None and profile.get("root_logger_level", "WARNING") == "WARNING":
        return
    if "logging" in sys.modules:
        configure_root_logger(sys.modules["logging"], profile)
    else:
        sys.meta_path.insert(0, LoggingHook(profile))


def preload_shadowed(folders):
    """Import the stdlib modules the cloud runtime preloads if a user file could shadow
    them (``json.py`` at the code root): in the cloud, ``import json`` finds the runtime's."""
    for name in CLOUD_PRELOADED:
        for folder in folders:
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate + ".py") or os.path.isdir(candidate):
                stdlib(name)
                break


# ---------------------------------------------------------------------------------------
# The instance: what the kernel contains, entered before anything of the user's runs.
#
# The parent asks for it in config["instance"] (scftest/instance/sandbox.py builds it):
#
#   isolation  "namespace": own mount, pid, ipc and uts namespaces (and a user namespace
#              when the runner is not root); "process": a plain process, hardened.
#   cgroups    cgroup.procs files to join first (the case's pids and memory cgroups), so
#              every process of the case is counted, limited and found there.
#   code_root  the host folder mounted read-only at /var/user.
#   hide       host folders covered by an empty tmpfs (the runner's HOME, /run/user).
#   user       [uid, gid] the function runs as (an unprivileged user when the runner is
#              root); none: it stays the runner's user, without capabilities.
#   userns     make a user namespace (the runner is not root).
#
# With namespaces the process tree becomes
#
#   bootstrap (the parent's child, outside)  waits, then exits as the function did
#     init (pid 1 inside)                     reaps orphans; when it exits, the kernel
#                                             ends every process left in the namespace
#       function (pid 2)                      the handler runs here, unprivileged
#
# The parent kills the bootstrap to end the case; init has the parent-death signal set,
# so the whole namespace goes with it. Nothing of this is reachable from the function:
# the bootstrap is outside its pid namespace, init is root-owned, non-dumpable and, as
# pid 1, ignores the signals the function may send.
#
# A case forked by a zygote (forkserver.py) that can make PID namespaces (root, no user
# namespace) saves the bootstrap outside: the zygote forks it straight into a new PID
# namespace (fork_case), so the case's process is pid 1 and is init itself, and
# reports the function's wait status on a status pipe to the zygote (its parent), which
# gives the runner the returncode the bootstrap outside would have mirrored. Init enters
# the other namespaces and forks the function's process at once (split_init), mostly
# before the case's request comes (a standby). The standby's function process builds
# the part of the file system every case of the run shares before its request too
# (prepare_ahead: the runner's folders, /var, /tmp, /dev, /opt covered), then receives
# the request and adds the case's own part (build_case: its code, image and layers, and
# read-only):
#
#   init (pid 1, the zygote's child)          as above; the zygote reads its status pipe
#     function (pid 2)                        the handler runs here, unprivileged
#
# What the function can observe is the same both ways (tests/instance/test_forkserver.py).

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 1
SYS_MOUNT_SETATTR = 442  # Linux 5.12+; new system calls have one number on every architecture
ENOSYS = 38
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 36, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
RTLD_NOW = 2
SIGKILL = 9
DEVICES = ("null", "zero", "full", "random", "urandom")
EXIT_NO_INSTANCE = 71  # the instance could not be made: the parent reports the log


class InstanceFailed(Exception):
    """Setting up the instance failed; the message names the step."""


class Libc(object):
    """The few C library calls the instance needs, made through _ctypes alone: importing
    the ctypes package costs 3-5 ms per case, its C core well under one."""

    def __init__(self):
        import _ctypes

        class Long(_ctypes._SimpleCData):
            _type_ = "l"

        class Function(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = Long

        self._ctypes, self._long, self._function = _ctypes, Long, Function
        self._handle = _ctypes.dlopen(None, RTLD_NOW)  # what Function looks names up in
        self._integers = (int, long) if PY2 else (int,)  # noqa: F821 (long: Python 2)
        self._found = {}  # name -> its function: looked up once (drop_privileges calls prctl ~45 times)

    def __call__(self, name, *args):
        """Calls ``name``; -1 raises OSError with errno (bytes go as char *)."""
        function = self._found.get(name)
        if function is None:
            function = self._found[name] = self._function((name, self))
        self._ctypes.set_errno(0)
        result = function(*[self._long(a) if isinstance(a, self._integers) else a
                            for a in args])
        if result == -1:
            errno = self._ctypes.get_errno()
            raise OSError(errno, "%s: %s" % (name, os.strerror(errno)))
        return result

    def mount(self, source, target, fstype, flags, data=None):
        try:
            self("mount", fs_bytes(source), fs_bytes(target), fs_bytes(fstype), flags,
                 fs_bytes(data))
        except OSError as exc:
            raise InstanceFailed("mount %s on %s: %s" % (source or fstype, target,
                                                         os.strerror(exc.errno)))

    def mount_setattr(self, path, flags, attr_set, attr_clr):
        import struct
        attr = struct.pack("=QQQQ", attr_set, attr_clr, 0, 0)  # struct mount_attr
        self("syscall", SYS_MOUNT_SETATTR, AT_FDCWD, fs_bytes(path), flags, attr, len(attr))


_LIBC = []  # this process's Libc, made once (a forked case's is its zygote's: already made)


def libc_once():
    if not _LIBC:
        _LIBC.append(Libc())
    return _LIBC[0]


def fs_bytes(value):
    if value is None or isinstance(value, bytes):
        return value
    return value.encode("utf-8", "surrogateescape") if not PY2 else value.encode("utf-8")


def enter_instance(plan, channel_fds):
    """Contain this process as ``plan`` says; returns in the function's process only.
    ``channel_fds``: the descriptors to the parent only the function's process keeps."""
    libc = libc_once()
    # "0": this process; children follow it. "1": the instance's init, forked before this
    # process (split_init). One pid a write.
    joining = (b"1", b"0") if PREMADE else (b"0",)
    cgroups = list(plan.get("cgroups") or ())
    if PREMADE and PREJOINED == cgroups:
        cgroups = []  # init joined them before it forked this process (split_init)
    for procs in cgroups:
        move_into(procs, joining)
    # Killed with the runner, even by SIGKILL: in a namespace the instance's init follows
    # this process (its own parent-death signal), and the kernel ends the rest with it.
    libc("prctl", PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if plan["isolation"] == "namespace":
        enter_namespaces(libc, plan, channel_fds)
    else:  # a plain process: the parent is a child subreaper, this is non-dumpable
        libc("prctl", PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    drop_privileges(libc, plan)


def close_all(fds):
    for fd in fds:
        os.close(fd)


def enter_namespaces(libc, plan, channel_fds):
    if PREMADE:  # forked by its init in the namespaces already (split_init)
        if PREMADE[0] is not None or plan.get("userns"):
            raise InstanceFailed("unshare: %s" % (PREMADE[0] or "a user namespace was asked for"))
        if PREPARED:  # its standby built what every case shares (prepare_ahead)
            prepared = PREPARED.pop()
            build_case(libc, plan, prepared.covers)
            os.close(prepared.host_ns)
        else:
            build_file_system(libc, plan)
        mount_proc(libc)
        return
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID
    uid, gid = os.getuid(), os.getgid()
    try:
        libc("unshare", flags | (CLONE_NEWUSER if plan.get("userns") else 0))
    except OSError as exc:
        raise InstanceFailed("unshare: %s" % os.strerror(exc.errno))
    if plan.get("userns"):  # root inside, the runner's own user outside
        for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid),
                           ("gid_map", "0 %d 1" % gid)):
            with open("/proc/self/" + name, "w") as handle:
                handle.write(text)
    build_file_system(libc, plan)
    relay_read, relay_write = os.pipe()
    init = os.fork()
    if init:  # the bootstrap, outside: wait for the function's end, then mirror it
        os.close(relay_write)
        close_all(channel_fds)
        mirror(relay_read, init)
    os.close(relay_read)
    run_init(libc, relay_write, channel_fds)  # returns in the function's process
    os.close(relay_write)


def mount_proc(libc):
    libc.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)


def run_init(libc, relay, channel_fds):
    """Pid 1 of the new namespace: mounts its /proc, starts the function's process,
    reaps every orphan, and reports how the function's process ended on ``relay`` (to
    the bootstrap outside)."""
    libc("prctl", PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    try:
        os.write(relay, b"+")  # the parent is still there (else: EPIPE, and leave)
    except OSError:
        os._exit(EXIT_NO_INSTANCE)
    os.setsid()  # out of the bootstrap's group: a kill(0, sig) inside stays inside
    mount_proc(libc)
    function = os.fork()
    if function == 0:
        os.setsid()
        return
    close_all(channel_fds)  # only the function holds the channels: its close ends an answer
    drop_privileges(libc, {"user": None}, dumpable=False)
    reap_until(function, relay)


def split_init(libc, status, keep, cmdline, mapping, cgroups=(), common=None):
    """In pid 1 of a PID namespace the zygote forked a case into (fork_case), fresh from
    leave_zygote, before its request is known (a standby) or as soon as it is: enter
    the case's other namespaces and fork the function's process (pid 2) now. That process
    returns, holding ``keep`` (its request comes on those), and goes on as any bootstrap
    does: enter_instance builds the file system and mounts /proc in these namespaces.
    This one stays the instance's init: it reaps every orphan and reports how the
    function's process ended on the ``status`` pipe (the zygote reads it for the runner),
    and never returns. Two processes a case, as before, and neither the fork nor the
    unshare is on the case's way when a standby does them.

    ``cgroups``: the cgroup.procs files the runner set aside for the case this standby
    will serve (the zygote's next_cgroups): joined now, by both processes, because a
    move into a cgroup waits for an RCU grace period on cgroup v1 (4 to 28 ms measured
    here, in one case of four under load), and a standby waits off the case's way.
    ``common``: the part of the file system every case of the run shares (the zygote's
    next_fs), which the function's process builds now (prepare_ahead)."""
    joined = join_cgroups(cgroups)
    host_ns = own_mount_namespace() if common is not None else None
    try:
        libc("unshare", CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
        failed = None
    except OSError as exc:  # reported when the case asks for its instance
        failed = os.strerror(exc.errno)
    function = os.fork()
    if function == 0:
        os.close(status)
        os.setsid()
        PREMADE.append(failed)
        PREJOINED[:] = joined
        if host_ns is not None and failed is None:
            prepare_ahead(libc, common, host_ns)
        elif host_ns is not None:
            os.close(host_ns)
        return
    if host_ns is not None:
        os.close(host_ns)
    close_all(keep)  # only the function holds the channels: its close ends an answer
    # What ps shows for it: the bootstrap's own command line (no zygote's, no case's).
    show_as_spawned(libc, mapping, cmdline, [fs_bytes(k) + b"=" + fs_bytes(v) for k, v in os.environ.items()])
    drop_privileges(libc, {"user": None}, dumpable=False)
    reap_until(function, status)


class Prepared(object):
    """What a standby's function process built before its request (prepare_ahead): the
    plan's part it built (``common``), build_common's covers, and its zygote's mount
    namespace (``host_ns``, open) to start over from where the case's plan differs."""

    def __init__(self, common, covers, host_ns):
        self.common, self.covers, self.host_ns = common, covers, host_ns

    def fds(self):
        return [fd for _, fd in self.covers] + [self.host_ns]

    def move_above(self, lowest):
        """Its descriptors at ``lowest`` and up (out of the way of the case's numbers)."""
        moved = []
        for index, fd in enumerate(self.fds()):
            os.dup2(fd, lowest + index)
            os.close(fd)
            moved.append(lowest + index)
        self.covers = [(folder, fd) for (folder, _), fd in zip(self.covers, moved)]
        self.host_ns = moved[-1]

    def fits(self, config):
        """Whether the case's plan is what was built: else start_over."""
        plan = config.get("instance") or {}
        return (plan.get("isolation") == "namespace" and not plan.get("userns")
                and not config.get("coverage")  # imported from the runner's folders, unhidden
                and all(plan.get(key) == value for key, value in self.common.items()))


PREPARED = []  # [Prepared] in a standby's function process, until its case uses it


def own_mount_namespace():
    try:
        return os.open("/proc/self/ns/mnt", os.O_RDONLY)
    except OSError:
        return None


def prepare_ahead(libc, common, host_ns):
    """In a standby's function process, before its request: build_common, so that the
    case builds only its own part (build_case). Where that fails, the process starts
    over in a fresh copy of its zygote's mounts, and the case builds it all (and reports
    what fails then)."""
    try:
        covers = build_common(libc, common)
    except (InstanceFailed, EnvironmentError):
        start_over(libc, Prepared(common, [], host_ns))
        return
    PREPARED.append(Prepared(common, covers, host_ns))


def start_over(libc, prepared):
    """Leaves what prepare_ahead built: back to the zygote's mount namespace and into a
    copy of it of its own, as split_init made it (the case then builds its whole file
    system, build_file_system)."""
    close_all([fd for _, fd in prepared.covers])
    try:
        libc("setns", prepared.host_ns, CLONE_NEWNS)
        libc("unshare", CLONE_NEWNS)
    except OSError as exc:  # reported when the case asks for its instance
        PREMADE[:] = ["setns: %s" % os.strerror(exc.errno)]
    os.close(prepared.host_ns)


def join_cgroups(cgroups):
    """Moves this process into each of ``cgroups`` (their cgroup.procs files); the list
    joined, or [] where one could not be (enter_instance then joins the case's itself)."""
    for procs in cgroups:
        try:
            move_into(procs, (b"0",))
        except OSError:
            return []
    return list(cgroups)


def move_into(procs, pids):
    """Writes each of ``pids`` to the cgroup.procs file ``procs``: one pid a write."""
    fd = os.open(procs, os.O_WRONLY)
    try:
        for pid in pids:
            os.write(fd, pid)
    finally:
        os.close(fd)


def reap_until(function, relay):
    """Init's loop: reaps every process of the namespace until ``function`` ends, then
    writes its wait status on ``relay`` and exits (the kernel ends whatever is left)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except OSError as exc:
            if exc.errno == 4:  # EINTR (Python 2)
                continue
            os._exit(EXIT_NO_INSTANCE)
        if pid == function:
            os.write(relay, ("%d\n" % status).encode("ascii"))
            os._exit(0)  # the kernel now ends whatever is left in the namespace


def mirror(relay, init):
    """The bootstrap outside: exit as the function's process did (the parent reads the
    exit status and the signal from this process)."""
    data = b""
    while True:
        chunk = os.read(relay, 64)
        if not chunk:
            break
        data += chunk
    try:
        os.waitpid(init, 0)
    except OSError:
        pass
    text = data.lstrip(b"+").strip()
    if not text.isdigit():
        os._exit(EXIT_NO_INSTANCE)
    status = int(text)
    if os.WIFSIGNALED(status):
        import resource
        import signal
        number = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else EXIT_NO_INSTANCE)


def interpreter_folders():
    """The folders this interpreter needs at run time (its installation, a venv's base)."""
    names = ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix")
    folders = [os.path.realpath(getattr(sys, name)) for name in names if getattr(sys, name, "")]
    folders.append(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(set(folders))


def under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def open_folder(path):
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


def fd_path(fd):
    return "/proc/self/fd/%d" % fd


def build_file_system(libc, plan):
    """The function's view of the file system: the host's, read-only, with /var/user,
    a private /tmp and /dev, and the runner's own folders hidden. Two steps: what every
    case of a run shares (build_common: a standby does it before its request) and what
    this case's plan adds (build_case)."""
    build_case(libc, plan, build_common(libc, plan))


def build_common(libc, common):
    """The part of the function's view the same for every case of a run (``common``: the
    plan's "hide" and "tmp_bytes", see sandbox.py common_fs): the runner's folders, /var,
    /tmp, /dev and /opt covered, the interpreter's folders bound back. Returns the covered
    folders with a descriptor of each, opened before covering: build_case finds the code,
    the image and the layers through them, as a code root under the runner's HOME, /tmp or
    /var is still there underneath."""
    covered = cover_points(common.get("hide") or ())
    covers = [(folder, fd) for folder, fd in ((f, open_folder(f)) for f in covered) if fd is not None]
    needed = [(folder, open_folder(folder)) for folder in interpreter_folders()
              if any(under(folder, top) for top in covered)]
    devices = []
    for name in DEVICES:
        try:
            devices.append((name, os.open("/dev/" + name, os.O_RDONLY | os.O_NONBLOCK)))
        except OSError:
            pass
    try:
        mount_common(libc, common, covered, needed, devices)
    except BaseException:
        # A standby that fails here starts over and still serves its case (prepare_ahead):
        # none of these may be open in the function's process then.
        close_all([fd for _, fd in covers])
        raise
    finally:
        close_all([fd for _, fd in needed if fd is not None] + [fd for _, fd in devices])
    return covers


def mount_common(libc, common, covered, needed, devices):
    """build_common's mounts, once what they cover is open."""
    libc.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates to the host
    for folder in common.get("hide") or ():
        if os.path.isdir(folder):
            libc.mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    libc.mount("tmpfs", "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    os.mkdir("/var/user")
    os.symlink("../tmp", "/var/tmp")
    os.symlink("../run", "/var/run")
    size = "size=%d" % common.get("tmp_bytes", 512 * 1024 * 1024)  # SCF's /tmp: 512 MB
    libc.mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777," + size)
    build_dev(libc, devices)
    if OPT in covered:  # an empty tmpfs: the host's /opt is not the cloud's
        libc.mount("tmpfs", OPT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    for folder, fd in needed:
        if fd is not None:
            make_folders(folder)
            libc.mount(fd_path(fd), folder, None, MS_BIND | MS_REC)


def cover_points(hide):
    """The host folders an instance covers with folders of its own."""
    return list(hide) + ["/var", "/tmp", "/dev"] + ([OPT] if os.path.isdir(OPT) else [])


def build_case(libc, plan, covers):
    """The case's own part, on build_common's: its code at /var/user, its runtime's image,
    its layers in /opt; then everything read-only but /tmp and /dev/shm. Closes ``covers``."""
    try:
        code = open_folder(host_path(plan["code_root"], covers))
        image = open_folder(host_path(plan["image"][0], covers)) if plan.get("image") else None
        layers = open_layers(plan.get("opt") or (), os.path.isdir(OPT), covers)
    finally:
        close_all([fd for _, fd in covers])
    if code is not None:
        libc.mount(fd_path(code), "/var/user", None, MS_BIND | MS_REC)
    if image is not None:
        os.makedirs(plan["image"][1])
        libc.mount(fd_path(image), plan["image"][1], None, MS_BIND | MS_REC)
    build_opt(libc, layers)
    make_read_only(libc, plan.get("readonly_by", "mount_setattr"))
    for fd in [code, image] + [entry[-1] for entry in layers if entry[0] == "bind"]:
        if fd is not None:
            os.close(fd)


def host_path(path, covers):
    """A path that names ``path`` as the host has it, whatever covers it now: under the
    deepest of ``covers`` (folder, descriptor opened before covering) that holds it, the
    rest looked up from that descriptor (/proc/self/fd/N/rest walks the covered folder
    itself, not what was mounted on it)."""
    best = None
    for folder, fd in covers:
        if under(path, folder) and (best is None or len(folder) > len(best[0])):
            best = (folder, fd)
    if best is None:
        return path
    rest = path[len(best[0]):].strip("/")
    return fd_path(best[1]) + ("/" + rest if rest else "")


OPT = "/opt"
O_PATH = getattr(os, "O_PATH", 0o10000000)  # Linux; Python 2 has no name for it


def open_layers(entries, opt, covers):
    """The plan's /opt entries (sandbox.opt_mounts), each "bind" with an O_PATH descriptor
    of its source, found through ``covers`` (host_path), as a layer may be under the
    runner's HOME or /tmp."""
    if entries and not opt:
        raise InstanceFailed("this machine has no %s folder to show the layers in: create it "
                             "(mkdir %s); it stays empty on the host" % (OPT, OPT))
    opened = []
    for entry in entries:
        if entry[0] == "bind":
            try:
                fd = os.open(host_path(entry[2], covers), O_PATH | os.O_NOFOLLOW)
            except OSError as exc:
                raise InstanceFailed("layer entry %s: %s" % (entry[2], os.strerror(exc.errno)))
            opened.append(["bind", entry[1], fd])
        else:
            opened.append(list(entry))
    return opened


def build_opt(libc, entries):
    """The layers' entries in /opt (build_common's empty tmpfs), in order: folders several
    layers share made here, the rest bound in place (all made read-only with the rest of
    the tree)."""
    for entry in entries:
        kind, path = entry[0], os.path.join(OPT, entry[1])
        if kind == "dir":
            os.mkdir(path)
        elif kind == "link":
            os.symlink(entry[2], path)
        else:
            if os.path.isdir(fd_path(entry[2])):
                os.mkdir(path)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
            libc.mount(fd_path(entry[2]), path, None, MS_BIND | MS_REC)


def make_folders(path):
    if not os.path.isdir(path):
        os.makedirs(path)


def build_dev(libc, devices):
    """A /dev with only what a process needs (the host's /dev holds its disks)."""
    libc.mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "mode=755,size=64k")
    for name, fd in devices:
        path = "/dev/" + name
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666))
        libc.mount(fd_path(fd), path, None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, "/dev/" + name)
    os.mkdir("/dev/shm")
    libc.mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")


WRITABLE = ("/tmp", "/dev/shm")


def make_read_only(libc, how):
    """Every mount read-only but /tmp and /dev/shm: one call on Linux 5.12+, else one
    remount per mount point."""
    if how == "mount_setattr":
        try:
            libc.mount_setattr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0)
            for path in WRITABLE:
                libc.mount_setattr(path, 0, 0, MOUNT_ATTR_RDONLY)
            return
        except OSError as exc:
            if exc.errno != ENOSYS:
                raise InstanceFailed("mount_setattr: %s" % os.strerror(exc.errno))
    for point, options in mount_points():
        if point in WRITABLE:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in options:
            flags |= MOUNT_FLAGS.get(option, 0)
        try:
            libc("mount", None, fs_bytes(point), None, flags, None)
        except OSError as exc:
            if exc.errno != 2:  # a mount point under one covered since: gone from view
                raise InstanceFailed("remount %s read-only: %s"
                                     % (point, os.strerror(exc.errno)))


def mount_points():
    """(mount point, per-mount options) of this mount namespace, from mountinfo."""
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            point = fields[4].replace("\\040", " ").replace("\\011", "\t")
            points.append((point.replace("\\012", "\n").replace("\\134", "\\"),
                           fields[5].split(",")))
    return points


def last_capability():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (IOError, OSError, ValueError):
        return 63


_BOUNDING_DROPPED = []  # [True] once this process's bounding set is empty (forks inherit it)


def drop_bounding_set(libc):
    """Empties the capability bounding set (what exec can ever give back). A zygote does
    it once: its forks inherit the empty set, so their drop_privileges skips ~40 calls."""
    if _BOUNDING_DROPPED:
        return
    for capability in range(last_capability() + 1):
        try:
            libc("prctl", PR_CAPBSET_DROP, capability, 0, 0, 0)
        except OSError:
            return  # not allowed (no CAP_SETPCAP): there is nothing to drop
    _BOUNDING_DROPPED.append(True)


def drop_privileges(libc, plan, dumpable=True):
    """No way back: no capabilities (even through exec: the bounding set is empty and
    no_new_privs is set), the plan's unprivileged user if it names one."""
    drop_bounding_set(libc)
    try:
        libc("prctl", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    except OSError:
        pass
    user = plan.get("user")
    if user:
        uid, gid = user
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    import struct
    header = struct.pack("=Ii", LINUX_CAPABILITY_VERSION_3, 0)
    libc("capset", header, b"\0" * 24)  # effective, permitted, inheritable: none
    libc("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # Inside its own namespace the function may be an ordinary (dumpable) process; a
    # plain process stays non-dumpable, so other cases' processes cannot open its /proc.
    libc("prctl", PR_SET_DUMPABLE, 1 if dumpable and plan.get("isolation") == "namespace"
         else 0, 0, 0, 0)


def close_in_forks(fds):
    """A process the handler forks (without exec) drops the channels at once, so the
    function's own close of one is what ends its answer (close-on-exec covers exec).
    ``fds`` is the list of the channels still open: the bootstrap removes each one it
    closes, so a descriptor number the handler gets later is never closed in its forks."""
    def close():
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    if hasattr(os, "register_at_fork"):  # 3.7+
        os.register_at_fork(after_in_child=close)
        return
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid == 0:
            close()
        return pid

    os.fork = fork  # 2.7 and 3.6: multiprocessing and friends call os.fork


# ---------------------------------------------------------------------------------------
# Loading the handler.

class HandlerNotFound(Exception):
    """Wraps the real exception for a missing file or function (SCF status 437)."""

    def __init__(self, error):
        Exception.__init__(self, error)
        self.error = error


class InitFailed(Exception):
    """Wraps what importing the handler module raised (SCF status 443)."""

    def __init__(self, exc_info):
        Exception.__init__(self)
        self.exc_info = exc_info


def split_handler(handler):
    file_part, _, function = handler.rpartition(".")
    return file_part, function


def module_not_found(message):
    try:
        return ModuleNotFoundError(message)
    except NameError:  # Python 2 and 3.5 raise ImportError for a missing module
        return ImportError(message)


def load_module(name, path, profile):
    """The entry file as the runtime's bootstrap loads it (the profile says): the 2.7 and
    3.6 bootstraps load it with an empty module name, 2.7 through imp.load_source (which
    registers it under ""), 3.6 through spec_from_file_location without sys.modules;
    3.7+ under the file's name, in sys.modules. Always from its exact path."""
    if profile.get("module_name") is not None:
        name = profile["module_name"]
    register = profile.get("module_in_sys_modules", True)
    if PY2:
        import imp
        # imp.load_source re-initialises an existing module of that name in place.
        if name in sys.modules and name:
            name = "_scf_handler_" + name
        return imp.load_source(name, path)
    # importlib.util is what these two come from, but importing it costs up to 8 ms
    # (importlib.abc pulls in typing on some versions); the frozen bootstrap modules
    # holding them are loaded in every Python 3 process already.
    bootstrap = sys.modules.get("_frozen_importlib")
    external = sys.modules.get("_frozen_importlib_external")
    if bootstrap is None or external is None:
        bootstrap = external = stdlib("importlib.util")
    spec = external.spec_from_file_location(name, path)
    module = bootstrap.module_from_spec(spec)
    register = register and name not in sys.modules  # never replace a module already in use (os.py...)
    if register:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if register:
            sys.modules.pop(name, None)
        raise
    return module


def find_handler(root, handler, profile):
    file_part, function = split_handler(handler)
    if not file_part or not function:
        raise HandlerNotFound(module_not_found(
            "handler %r is not of the form <file>.<function> (e.g. index.main_handler)"
            % handler))
    path = os.path.join(root, file_part + ".py")
    name = os.path.basename(file_part)
    if not os.path.isdir(root):
        raise HandlerNotFound(module_not_found(
            "No module named '%s': the code root %s does not exist (handler %s)"
            % (name, root, handler)))
    if not os.path.isfile(path):
        raise HandlerNotFound(module_not_found(
            "No module named '%s': %s does not exist (handler %s, code root %s)"
            % (name, path, handler, root)))
    if not os.access(path, os.R_OK):
        raise HandlerNotFound(module_not_found(
            "No module named '%s': %s cannot be read by the function's user (uid %d); "
            "the cloud's runtime reads the code it was given: make the code root readable "
            "by others (chmod -R o+rX)" % (name, path, os.getuid())))
    try:
        module = load_module(name, path, profile)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        raise InitFailed(sys.exc_info())
    func = getattr(module, function, None)
    if func is None:
        raise HandlerNotFound(AttributeError(
            "module '%s' has no attribute '%s' (handler %s: no function %s in %s)"
            % (name, function, handler, function, path)))
    if not callable(func):
        raise HandlerNotFound(TypeError(
            "'%s' in %s is a %s, not a function (handler %s)"
            % (function, path, type(func).__name__, handler)))
    return func


# ---------------------------------------------------------------------------------------
# Errors.

def own_frame(filename):
    return filename == THIS_FILE or filename.startswith("<frozen importlib")


def exception_message(exc):
    try:
        return text_type(exc)
    except Exception:
        try:
            return str(exc).decode("utf-8", "replace") if PY2 else repr(exc)
        except Exception:
            return "<%s: unprintable message>" % type(exc).__name__


def qualified_name(exc_type):
    module = getattr(exc_type, "__module__", None) or ""
    name = getattr(exc_type, "__qualname__", None) or exc_type.__name__
    return "%s.%s" % (module, name) if module else name


def format_traceback(exc_type, exc, tb):
    """The traceback as Python prints it, without this bootstrap's or importlib's frames
    (SCF strips its runtime's frames too)."""
    traceback = stdlib("traceback")
    if PY2:
        frames = [f for f in traceback.extract_tb(tb) if not own_frame(f[0])]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(exc_type, exc)
        return "".join(lines)
    summary = traceback.TracebackException(exc_type, exc, tb)
    seen = set()
    pending = [summary]
    while pending:  # strip the frames in the chained exceptions too
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        item.stack = traceback.StackSummary.from_list(
            [frame for frame in item.stack if not own_frame(frame.filename)])
        pending.extend(x for x in (item.__cause__, item.__context__) if x is not None)
    return "".join(summary.format())


def class_chain(exc_type):
    """The class and its bases, nearest first, without ``object``: its MRO, or for a
    Python 2 old-style class (no __mro__) the depth-first walk of __bases__ that is its
    lookup order."""
    chain = getattr(exc_type, "__mro__", None)
    if chain is None:
        chain, pending = [], [exc_type]
        while pending:
            cls = pending.pop(0)
            if cls not in chain:
                chain.append(cls)
                pending[0:0] = list(getattr(cls, "__bases__", ()))
    return [cls for cls in chain if cls is not object]


def mro_names(exc_type):
    """The qualified names of the exception's class and its bases, one a line, so that
    the parent can judge ``error.type: ImportError`` against a ModuleNotFoundError without
    importing anything of the handler's (a name with a line break in it is flattened)."""
    return "\n".join(qualified_name(cls).replace("\n", " ") for cls in class_chain(exc_type))


def error_fields(exc_type, exc, tb):
    return [
        ("error_type", exc_type.__name__),
        ("error_qualified", qualified_name(exc_type)),
        ("error_mro", mro_names(exc_type)),
        ("error_message", exception_message(exc)),
        ("traceback", format_traceback(exc_type, exc, tb)),
    ]


def is_memory_error(exc_type):
    return isinstance(exc_type, type) and issubclass(exc_type, MemoryError)


def raised_by_a_statement(tb):
    """Whether the exception left its innermost frame at a ``raise`` statement: code that
    raised it on purpose (``raise MemoryError("quota")``), not the interpreter failing to
    allocate (whose innermost Python frame stops at a call or an operator instead)."""
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code.co_code
    index = tb.tb_lasti
    if not 0 <= index < len(code):
        return False
    op = ord(code[index]) if PY2 else code[index]
    return op == stdlib("opcode").opmap["RAISE_VARARGS"]


# ---------------------------------------------------------------------------------------
# Serializing the return value as SCF does.

def default_encoder(value):
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def scf_dumps(value):
    """The return value's JSON as SCF's runtime writes it: ``json.dumps(value,
    ensure_ascii=False)`` on Python 3; on Python 2.7 ``json.dumps(value)``, ASCII-escaped
    (``"\u00e9"``), as Tencent's 2.7 bootstrap calls it (S1, python2.7/bootstrap.py).

    Like Tencent's runtime, a returned Decimal becomes its str (a JSON string); a Decimal
    nested inside a dict or list is not serializable there, nor here. On Python 3, plain
    data is rendered by ``plain_encode`` without importing json (several ms per case).
    """
    decimal = sys.modules.get("decimal")
    if decimal is not None and type(value) is decimal.Decimal:
        value = str(value)
    if not PY2:
        parts = []
        if plain_encode(value, parts, 0):
            return "".join(parts)
    if PY2:
        return stdlib("json").dumps(value).decode("ascii")
    return stdlib("json").dumps(value, ensure_ascii=False)


def plain_text(text):
    """True when json.dumps(ensure_ascii=False) would write ``text`` unescaped."""
    return '"' not in text and "\\" not in text and (not text or min(text) >= " ")


def plain_encode(value, out, depth):
    """Appends exactly what json.dumps(value, ensure_ascii=False) writes, for values made
    of exact dicts (str keys), lists, tuples, str, int, finite float, bool and None.
    Returns False as soon as anything else (or anything to escape) shows up: the caller
    then uses the json module, which also reports errors and circular references."""
    kind = type(value)
    if value is None:
        out.append("null")
    elif value is True or value is False:
        out.append("true" if value else "false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            return False
        out.append(float.__repr__(value))
    elif kind is str:
        if not plain_text(value):
            return False
        out.append('"' + value + '"')
    elif depth >= 64:
        return False
    elif kind is list or kind is tuple:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            if not plain_encode(item, out, depth + 1):
                return False
        out.append("]")
    elif kind is dict:
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if type(key) is not str or not plain_text(key):
                return False
            out.append(', "' if index else '"')
            out.append(key)
            out.append('": ')
            if not plain_encode(item, out, depth + 1):
                return False
        out.append("}")
    else:
        return False
    return True


def ret_msg_length(text):
    """The length Tencent's runtime compares with the cap: ``len()`` of its JSON text, as
    ``scf_dumps`` writes it (Python 2.7's ASCII-escaped: a character outside ASCII counts 6,
    ``\u00e9``, one outside the BMP 12, a surrogate pair)."""
    return len(text)


# ---------------------------------------------------------------------------------------
# The invocation.

def load_handler(config, before):
    """The init stage, once per instance: import the handler module and find the
    function. Returns (handler, None), or (None, the result fields of the failure).
    ``before``: the modules loaded before the import (for the "imports" field)."""
    try:
        return find_handler(config["code_root"], config["handler"], config.get("profile") or {}), None
    except HandlerNotFound as wrapper:
        error = wrapper.error
        imports = imports_field(before, config)
        return None, [("outcome", "not_found")] + error_fields(type(error), error, None) + imports
    except InitFailed as wrapper:
        imports = imports_field(before, config)
        return None, failure_fields(wrapper.exc_info, "init_error") + imports


def call(handler, request, pid, before, config):
    """One invocation of the loaded handler; returns the result frame's fields. The
    result carries no figures (the parent measures them: a handler could forge them).
    ``before``: the modules loaded before this invocation (a cold start's: before the
    import), so "imports" lists what this invocation imported."""
    failure = None
    try:
        value = handler(request["event"], request["context"])
    except Exception:
        failure = sys.exc_info()
    if os.getpid() != pid:
        os._exit(0)  # a process the handler forked returned from it: not the invocation
    imports = imports_field(before, config)  # before serializing: json is the bootstrap's
    if failure is not None:
        return failure_fields(failure, "error") + imports
    return serialize(value) + imports


def imports_field(before, config):
    """The "imports" field: each top-level module the invocation imported (it, or a
    submodule of it, was not in sys.modules before the handler module was loaded) and
    where it came from, one
    ``name origin`` line each. Origins: code, layer, image, stdlib (also modules built
    into the interpreter), other (a folder the handler put on sys.path itself)."""
    places = [(config["code_root"], "code")]
    places += [(folder, "layer") for folder in config.get("layer_path") or ()]
    if config.get("image_path"):
        places.append((config["image_path"], "image"))
    places += [(folder, "stdlib") for folder in STDLIB_PATH]
    places.sort(key=lambda place: -len(place[0] or ""))  # the innermost folder decides
    found = {}
    # A new submodule counts for its top-level package: ``google.protobuf`` imported means
    # ``google``, even though protobuf's .pth made ``google`` itself at start-up.
    for name in set(name.split(".")[0] for name in set(sys.modules) - before):
        module = sys.modules.get(name)
        if name and module is not None:
            found[name] = module_origin(module, places)
    # The entry file is the code's even where the runtime's bootstrap loads it under an
    # empty name or outside sys.modules (2.7/3.6, profiles.py).
    file_part = split_handler(config["handler"])[0]
    entry = os.path.basename(file_part)
    if entry and entry not in found and os.path.isfile(os.path.join(config["code_root"], file_part + ".py")):
        found[entry] = "code"
    return [("imports", "\n".join("%s %s" % (name, found[name]) for name in sorted(found)))]


def module_origin(module, places):
    where = getattr(module, "__file__", None)
    if not where:
        try:  # a namespace package has a path and no file
            where = list(getattr(module, "__path__", None) or ())[0]
        except Exception:
            where = None
    if not isinstance(where, (str, text_type)):
        # built into the interpreter, or frozen (the standard library's); else made by code
        builtin = getattr(module, "__name__", None) in sys.builtin_module_names
        frozen = "Frozen" in repr(getattr(module, "__loader__", None))
        return "stdlib" if builtin or frozen else "other"
    where = os.path.abspath(where)
    for folder, origin in places:
        if folder and under(where, os.path.abspath(folder)):
            return origin
    return "other"


def flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def wait_for_go(fd):
    """Block until the parent says the call may start (one byte on GO_FD).

    Between the "loaded" frame and this byte the parent reads what the import wrote to
    the log, so the log's Init Report line goes between the import's output and the
    call's, and the call's time limit starts here. No byte (the parent is gone): leave."""
    if fd is None:
        return
    while True:
        try:
            data = os.read(fd, 1)
            break
        except OSError as exc:
            if exc.errno != 4:  # EINTR (Python 2)
                raise
    os.close(fd)
    if not data:
        os._exit(EXIT_CHANNEL_LOST)


def failure_fields(exc_info, outcome):
    """An exception as result fields. A MemoryError the interpreter raised (an allocation
    past the address-space net) is SCF's memory limit instead; one that a raise statement
    raised is an ordinary exception, as in Tencent's runtime (430)."""
    exc_type, exc, tb = exc_info
    if is_memory_error(exc_type) and not raised_by_a_statement(tb):
        outcome = "memory"
    return [("outcome", outcome)] + error_fields(exc_type, exc, tb)


def serialize(value):
    """The return value as SCF hands it back (sync) or writes it to the log (async).

    The size cap holds for both: Tencent's runtime checks the text before it is handed
    on, and does not know whether a caller waits for it."""
    try:
        ret_msg = scf_dumps(value)
    except Exception:
        return failure_fields(sys.exc_info(), "error")
    size = ret_msg_length(ret_msg)
    if size > MAX_RET_MSG_CHARS:
        return [("outcome", "too_large"),
                ("error_type", "ResponseSizeTooLarge"),
                ("error_qualified", "scf.ResponseSizeTooLarge"),
                ("error_message", "%s: the return value's JSON is %d characters, over "
                                  "SCF's limit of %d" % (BODY_TOO_LONG, size,
                                                         MAX_RET_MSG_CHARS))]
    return [("outcome", "ok"), ("ret_msg", ret_msg)]


def prepare(config):
    """Everything between reading the config and importing the handler."""
    set_limits(config)
    utf8_stdio()
    sys.dont_write_bytecode = True
    profile = config.get("profile") or {}
    root = config["code_root"]
    file_part, _ = split_handler(config["handler"])
    folders = [root]
    handler_dir = os.path.dirname(os.path.join(root, file_part))
    cwd = root
    in_subfolder = os.path.normpath(handler_dir) != os.path.normpath(root)
    if in_subfolder:
        folders.append(handler_dir)
    layers = list(config.get("layer_path") or ())
    preload_shadowed(folders + layers)
    prepare_logging(profile)
    site_builtins()
    classic_subfolder = in_subfolder and profile.get("subfolder_cwd")
    sys.path[0:1] = ([root] if classic_subfolder else folders) + layers  # replaces this script's own folder
    if config.get("image_path"):
        add_site_dir(config["image_path"])
    if classic_subfolder:
        # The 2.7/3.6 bootstrap changes into the entry file's folder and appends it.
        sys.path.append(handler_dir)
        cwd = handler_dir
    if os.path.isdir(cwd):  # otherwise find_handler reports it
        os.chdir(cwd)


# ---------------------------------------------------------------------------------------
# The import path: the cloud's, never the host's.
#
# The runner starts this interpreter with -E -s -S (2.7 has no -I): no PYTHON* variable,
# no user site and no site-packages of the interpreter (or of a venv it belongs to). What
# sys.path then holds is the standard library; prepare() puts the code root (and the
# handler's folder) before it and the layers (/opt) after those, as the cloud's 2.7/3.6
# bootstrap does, and the runtime's image libraries (what `scftest image install`
# provisioned) last, as a site directory so that their .pth files work (protobuf's
# ``google`` namespace on 2.7 exists only through one).

NO_PREFIX = "/nonexistent-scftest-prefix"


def site_builtins():
    """What the site module gives every program the cloud runs (exit, quit, help,
    copyright, credits, license; on 2.7 the removal of sys.setdefaultencoding), without
    the interpreter's site-packages. On 2.7, importing site runs its main(), which would
    add them: it runs with the prefixes pointing nowhere. On 3, -S means site.main() is
    not run on import."""
    if "site" in sys.modules:
        return
    if PY2:
        prefix, exec_prefix = sys.prefix, sys.exec_prefix
        sys.prefix = sys.exec_prefix = NO_PREFIX
        try:
            stdlib("site")
        finally:
            sys.prefix, sys.exec_prefix = prefix, exec_prefix
        return
    site = stdlib("site")
    site.setquit()
    site.setcopyright()
    site.sethelper()


def add_site_dir(sitedir):
    """``site.addsitedir(sitedir)``: the folder at the end of sys.path, then each of its
    .pth files in name order (a line naming a folder adds it if it exists; a line starting
    with ``import`` is run). The local name ``sitedir`` is part of the contract: nspkg
    .pth lines read it from their caller's frame."""
    if not os.path.isdir(sitedir):
        return
    if sitedir not in sys.path:
        sys.path.append(sitedir)
    for name in sorted(os.listdir(sitedir)):
        if name.endswith(".pth") and not name.startswith("."):
            add_pth(sitedir, name)


def add_pth(sitedir, name):
    path = os.path.join(sitedir, name)
    try:
        with open(path) as handle:
            lines = handle.readlines()
    except (IOError, OSError):
        return
    for number, line in enumerate(lines, 1):
        if line.startswith("#") or not line.strip():
            continue
        try:
            if line.startswith(("import ", "import\t")):
                exec(line)
                continue
            folder = os.path.join(sitedir, line.rstrip())
            if folder not in sys.path and os.path.exists(folder):
                sys.path.append(folder)
        except Exception:
            exc_type, exc, tb = sys.exc_info()
            sys.stderr.write("Error processing line %d of %s:\n%s" % (
                number, path, format_traceback(exc_type, exc, tb)))
            return


def main(argv):
    if argv[1:2] == ["--probe"]:
        probe(argv[2])
    close_script(argv[0])
    if argv[1:2] == ["--zygote"]:
        argv = zygote(int(argv[2]))  # returns in each forked case process, with its argv
    config_path, fd = argv[1], int(argv[2])
    go = int(argv[3]) if len(argv) > 3 else None
    parent = os.getppid()
    close_on_exec(fd)
    if go is not None:
        close_on_exec(go)
    config = read_config(config_path)
    del sys.argv[1:]  # the handler has no business with the channel's fd number
    warm = config.get("warm") or {}
    channels = [fd] + list(warm.get("channels") or ())
    requests = warm.get("requests")
    held = channels + ([requests] if requests is not None else [])
    for other in held[1:]:
        close_on_exec(other)
    if PREPARED and not PREPARED[0].fits(config):
        start_over(libc_once(), PREPARED.pop())
    coverage_import(config, held)  # scftest run --cov: before the runner's folders are hidden
    plan = config.get("instance")
    if plan:
        try:
            enter_instance(plan, held)
        except (InstanceFailed, EnvironmentError) as exc:
            os.write(2, to_bytes("scftest: the instance could not be made: %s\n" % (exc,)))
            os._exit(EXIT_NO_INSTANCE)
        if plan["isolation"] == "namespace":
            parent = None  # pid 1 of the namespace: there until the case ends
    pid = config["_pid"] = os.getpid()
    close_in_forks(held)
    prepare(config)
    coverage_start(config)
    channel = Channel(fd)
    channel.send("ready", [])
    before = set(sys.modules)
    handler, fields = load_handler(config, before)  # the init stage: the import, once
    if handler is not None:
        flush_stdio()  # what the import wrote is in the log pipe before "loaded" is sent
        channel.send("loaded", [])
        wait_for_go(go)  # the parent has read the import's output; the call starts
        fields = call(handler, config, pid, before, config)
    answer(channel, fields, held, config)
    if handler is not None and requests is not None:
        serve(handler, RequestReader(requests), channels[1:], pid, held, config)
    linger(parent)


# ---------------------------------------------------------------------------------------
# The zygote (scftest/instance/forkserver.py is the other end).
#
#   python -u -E -s -S _child.py --zygote CONTROL_FD
#
# started with the flags and the environment a case's process gets, this interpreter
# stops where a fresh bootstrap would read its config, and forks one process per case
# instead. Each forked process becomes what a fresh one would be at that point (its own
# session, only its case's descriptors, the case's environment, working directory and
# time zone, sys.modules as they were before the zygote's own imports), then goes on
# exactly as a spawned bootstrap does (main: the config, the instance, the handler).
#
# The control socket (AF_UNIX, SOCK_SEQPACKET: one message per request) carries:
#
#   zygote -> parent  "ready PID\n" + the environment as this process has it (NUL-
#                     separated NAME=VALUE): the parent adds what Python's start-up
#                     changed in it (locale coercion) to each case's environment
#                     "unable REASON" (this interpreter cannot serve: it spawns)
#   parent -> zygote  "fork JSON" with the case's descriptors attached (SCM_RIGHTS);
#                     JSON: fds (the number each descriptor takes in the case, in the
#                     order attached), stdout (the index of the one that becomes 1 and
#                     2, at no number of its own), argv,
#                     cwd, environ, pid_namespace (fork it into a PID namespace of its
#                     own where this process may: it is then its instance's init; poll
#                     and reap answer with its function's returncode, see fork_case),
#                     next_cgroups (optional: the cgroup.procs files of the cgroups set
#                     aside for the next case; the standby forked after this request
#                     joins them ahead, see split_init), next_fs (optional: the
#                     part of the instance's file system every case of the run shares,
#                     as the plan has it: "hide" and "tmp_bytes"; the standby builds it
#                     ahead, see prepare_ahead)
#                     -> "forked PID" | "forked PID init" (it is, in its own
#                     namespace) | "error REASON"
#                     "drop" -> "dropped" (the standby is ended: the cgroups it joined
#                     go to a case it does not serve)
#                     "poll PID" -> "running" | "exited RETURNCODE" (not reaped: until
#                     the parent says so, the pid stays taken)
#                     "reap PID" -> "reaped RETURNCODE" (sent once the process exited)
#
# Python 2.7 cannot receive descriptors (no recvmsg): it answers "unable". The zygote
# holds no thread and installs no signal handler, so each fork inherits exactly the
# dispositions Python set at start-up. It is non-dumpable (a function running as the
# same user cannot read or trace it) and dies with the runner (parent-death signal,
# and the end of the control socket).

ZYGOTE_MAX_FDS = 64
PREMADE = []  # [why unshare failed, or None] in a function's process split_init forked
PREJOINED = []  # the cgroup.procs files its init joined before forking it (split_init)


# What every case's bootstrap imports before the handler's import, whatever the case
# (set_limits, enter_instance, drop_privileges, site_builtins): the zygote imports them
# once, so by the handler's import a fork has what a fresh bootstrap has by then.
BOOTSTRAP_MODULES = ("resource", "site", "_ctypes", "struct")


# The handler's import compiles its source (no .pyc is written; one that is there is
# read). A process's first compile does the compiler's first-use work, ~1.3 ms on
# Python3.10 and ~2.2 ms on 3.6 (measured): the zygote compiles this once, so its forks
# compile as a process that has compiled before (0.28 ms for the bench's handler). The
# code object is thrown away: nothing runs, nothing is imported.
WARM_SOURCE = """
class Handler(object):
    def __init__(self, name="x", *args, **kwargs):
        self.name = name

def main_handler(event, context):
    try:
        value = {"n": event.get("n", 0), "ok": True, "items": [1, 2.5, None, "s"]}
    except (KeyError, TypeError) as exc:
        raise ValueError("bad event: %s" % (exc,))
    for key in sorted(value):
        if not key.startswith("_") and value[key] is not None:
            value[key] = value[key]
    return value
"""


def zygote(control):
    for name in BOOTSTRAP_MODULES:
        stdlib(name)
    pristine = set(sys.modules)  # a fork goes on with these (see BOOTSTRAP_MODULES)
    try:
        import _socket
    except ImportError:
        _socket = None
    if _socket is None or not hasattr(_socket.socket, "recvmsg") or not hasattr(_socket, "SCM_RIGHTS"):
        os.write(control, b"unable this Python cannot receive file descriptors "
                          b"(socket.recvmsg with SCM_RIGHTS)")
        os._exit(0)
    libc = libc_once()
    libc("prctl", PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    libc("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)
    drop_bounding_set(libc)  # its own capabilities stay: the forks still make instances
    json_scanner()
    compile(WARM_SOURCE, "<scftest: the compiler's first use>", "exec")
    # One full collection here: the forks inherit a heap the collector has counted whole
    # (its long-lived objects), so theirs stay young collections instead of a first full
    # one that walks, and so copies on write, every page of the zygote's objects
    # (measured: ~1 ms of a case's CPU, 0.99 -> 0.2 ms in the collector).
    import gc
    gc.collect()
    try:
        own_pids = os.open("/proc/self/ns/pid", os.O_RDONLY)  # to come back to after each fork
    except OSError:
        own_pids = None
    statuses = {}  # pid -> [read end of its status pipe, what it said so far] (see fork_case)
    zygote_pid = os.getpid()
    with open("/proc/self/cmdline", "rb") as handle:  # a fork shows it with its own argv
        pristine_cmdline = handle.read().split(b"\0")[:-3]  # without --zygote FD
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, control)
    space = _socket.CMSG_SPACE(ZYGOTE_MAX_FDS * 4)
    environ = b"\0".join(k + b"=" + v for k, v in sorted(os.environb.items()))
    sock.sendall(b"ready " + str(os.getpid()).encode("ascii") + b"\n" + environ)
    standby = None  # the process forked ahead for the next case (see Standby)
    while True:
        message, ancillary, flags, _ = sock.recvmsg(1 << 18, space)
        fds = received_fds(_socket, ancillary)
        if not message:  # the runner is gone
            os._exit(0)
        kind, _, body = message.partition(b" ")
        if kind == b"fork":
            try:
                request = parse_json(body.decode("utf-8"))
                if len(fds) != len(request["fds"]) or flags & _socket.MSG_CTRUNC:
                    raise ValueError("%d descriptors for %d numbers" % (len(fds), len(request["fds"])))
                wanted = bool(request.get("pid_namespace"))
                pid, status = None, None
                if standby is not None:
                    taken, standby = standby, None
                    if taken.pid_namespace == wanted and taken.hand_over(_socket, message, fds):
                        pid, status = taken.pid, taken.status
                    else:
                        taken.discard()
                if pid is None:
                    pid, status = fork_case(libc, own_pids if wanted else None)
            except Exception as exc:
                close_all(fds)
                sock.sendall(b"error " + to_bytes(exc))
                continue
            if pid == 0:
                control = sock.detach()
                mapping = leave_zygote(pristine, zygote_pid, status, fds + [control])
                if status is not None:  # returns in the function's process
                    split_init(libc, status, fds + [control], pristine_cmdline, mapping)
                return become_case(request, fds, control, pristine, pristine_cmdline, mapping)
            close_all(fds)
            if status is not None:
                statuses[pid] = [status, b""]
            sock.sendall(b"forked " + str(pid).encode("ascii") + (b" init" if status is not None else b""))
            # The next case's process, forked now, while this one starts: the fork and
            # the first steps of a process are off the next case's way.
            next_cgroups = [str(path) for path in request.get("next_cgroups") or ()]
            next_fs = request.get("next_fs")
            request = body = message = None  # nothing of this case's request in it
            standby = Standby.fork(libc, own_pids if wanted else None, _socket)
            if standby is not None and standby.pid == 0:
                sock.detach()  # closed by leave_zygote with every other descriptor of the zygote's
                theirs = standby.sock.fileno()
                mapping = leave_zygote(pristine, zygote_pid, standby.status, [theirs])
                if standby.status is not None:  # returns in the function's process
                    split_init(libc, standby.status, [theirs], pristine_cmdline, mapping,
                               next_cgroups, next_fs)
                request, fds = standby.wait(_socket, space)
                return become_case(request, fds, standby.sock.detach(), pristine,
                                   pristine_cmdline, mapping)
            continue
        close_all(fds)
        if kind == b"drop":  # its cgroups go to a case another process serves: it ends
            if standby is not None:
                taken, standby = standby, None
                taken.discard()
            sock.sendall(b"dropped")
            continue
        try:
            pid = int(body)
            if kind == b"poll":
                done = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                reply = b"running" if done is None else b"exited %d" % reported(
                    statuses.get(pid), returncode_of(done))
            elif kind == b"reap":
                code = popen_returncode(os.waitpid(pid, 0)[1])
                entry = statuses.pop(pid, None)
                reply = b"reaped %d" % reported(entry, code)
                if entry is not None:
                    os.close(entry[0])
            else:
                reply = b"error unknown request " + kind[:40]
        except Exception as exc:
            reply = b"error " + to_bytes(exc)
        sock.sendall(reply)


class Standby(object):
    """A case's process forked ahead of its request (fork_case, into its PID namespace
    where asked), waiting on a socket of its own for the request and its descriptors,
    which the zygote hands over when the runner asks for a fork: then it goes on exactly
    as a process forked at that moment does (become_case). It dies with the zygote, and
    is ended when the next request wants another kind (a PID namespace or not)."""

    def __init__(self, pid, status, sock, pid_namespace):
        self.pid, self.status, self.sock, self.pid_namespace = pid, status, sock, pid_namespace

    @classmethod
    def fork(cls, libc, own_pids, _socket):
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        try:
            pid, status = fork_case(libc, own_pids)
        except Exception:
            ours.close()
            theirs.close()
            return None
        if pid == 0:
            ours.close()
            return cls(0, status, theirs, own_pids is not None)
        theirs.close()
        return cls(pid, status, ours, own_pids is not None)

    def hand_over(self, _socket, message, fds):
        """Sends the request and its descriptors; False if the standby is gone."""
        try:
            data = fds_bytes(fds)
            self.sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, data)] if fds else [])
            return True
        except OSError:
            return False
        finally:
            self.sock.close()

    def discard(self):
        self.sock.close()
        try:
            os.kill(self.pid, SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        if self.status is not None:
            os.close(self.status)

    def wait(self, _socket, space):
        """In the standby: its request and descriptors (it leaves if the zygote ends it)."""
        message, ancillary, flags, _ = self.sock.recvmsg(1 << 18, space)
        fds = received_fds(_socket, ancillary)
        if not message or flags & _socket.MSG_CTRUNC:
            os._exit(0)
        return parse_json(message.partition(b" ")[2].decode("utf-8")), fds


def fds_bytes(fds):
    import struct
    return struct.pack("%di" % len(fds), *fds)


def fork_case(libc, own_pids):
    """os.fork() for a case; with ``own_pids`` (this process's PID namespace, open), into
    a new PID namespace where the kernel allows it (root, outside a user namespace): the
    child is its pid 1 and becomes the instance's init itself (enter_namespaces), instead
    of a bootstrap outside that forks one. Returns (pid, status): in the parent, the read
    end of the pipe on which that init reports how the function's process ended (its
    waitpid status, after a "+"), else None; in the child, the write end."""
    pipe = None
    if own_pids is not None:
        pipe = os.pipe()
        try:
            libc("unshare", CLONE_NEWPID)  # for this process's next child only
        except OSError:  # not allowed here: the case makes its namespace itself
            close_all(pipe)
            pipe = None
    try:
        pid = os.fork()
    except BaseException:
        if pipe is not None:
            close_all(pipe)
            come_back(libc, own_pids)
        raise
    if pipe is None:
        return pid, None
    if pid == 0:
        os.close(pipe[0])
        return 0, pipe[1]
    come_back(libc, own_pids)
    os.close(pipe[1])
    os.set_blocking(pipe[0], False)
    return pid, pipe[0]


def come_back(libc, own_pids):
    """This process's later children in its own PID namespace again; a zygote that
    cannot come back cannot serve (its runner replaces it)."""
    try:
        libc("setns", own_pids, CLONE_NEWPID)
    except OSError:
        os._exit(EXIT_NO_INSTANCE)


def reported(entry, own):
    """The returncode the runner is given for a forked process that exited with ``own``:
    where it was the init of its case's PID namespace (``entry``: its status pipe and what
    was read of it), the function's, as the bootstrap outside would have mirrored it."""
    if entry is None:
        return own
    while True:
        try:
            chunk = os.read(entry[0], 64)
        except OSError:  # EAGAIN: nothing more for now
            break
        if not chunk:
            break
        entry[1] += chunk
    text = entry[1].replace(b"+", b"").strip()
    return popen_returncode(int(text)) if text.isdigit() else own


def received_fds(_socket, ancillary):
    fds = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, usable, 4)]
    return fds


def returncode_of(done):
    """A waitid result (not reaped) as subprocess's returncode: -N for signal N."""
    return done.si_status if done.si_code == 1 else -done.si_status  # CLD_EXITED


def popen_returncode(status):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def leave_zygote(pristine, zygote_pid, status, keep):
    """In a process just forked from the zygote: the part of becoming a case that is the
    same for every case, so a standby does it before its request comes (off the case's
    way). It dies with the zygote, has a session of its own (as the spawn path's
    start_new_session gives), holds only stdin and ``keep`` (with ``status``), and has
    sys.modules as they were before the zygote's own imports. ``status``: the write end
    of the status pipe, when this process is pid 1 of a PID namespace of its own.
    Returns its memory map (for show_as_spawned)."""
    # Dies with the zygote: one the runner gave up on takes its forks along.
    libc_once()("prctl", PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if status is not None:  # its parent is outside its namespace (getppid() is 0)
        try:
            os.write(status, b"+")  # EPIPE: the zygote is gone already
        except OSError:
            os._exit(EXIT_NO_INSTANCE)
    elif os.getppid() != zygote_pid:
        os._exit(EXIT_NO_INSTANCE)
    os.setsid()
    kept = set(keep) | set([0]) | (set([status]) if status is not None else set())
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in kept:
            try:
                os.close(int(name))
            except OSError:
                pass  # the listing's own descriptor
    mapping = memory_map()
    forget_modules(pristine)
    return mapping


def forget_modules(pristine):
    for name in list(sys.modules):
        if name not in pristine:
            del sys.modules[name]  # imported again from scratch when asked for


def become_case(request, fds, control, pristine, cmdline, mapping):
    """In the forked process, after leave_zygote: what a freshly spawned bootstrap is
    before it reads its config (the case's descriptors at their numbers, its working
    directory, environment and time zone, its argv shown). Returns the argv main() goes
    on with. ``fds``: the case's descriptors as received, ``control``: the socket they
    came on (closed here), ``mapping``: what leave_zygote returned."""
    targets = request["fds"]
    prepared = PREPARED[0] if PREPARED else None
    held = prepared.fds() if prepared else []
    staged = 1 + max([2, control] + fds + targets + held)
    if prepared:
        prepared.move_above(staged + len(fds))
    for index, fd in enumerate(fds):  # out of the way first: numbers may collide
        os.dup2(fd, staged + index)
    # What leave_zygote kept and the request brought: nothing else is open by now.
    close_all(set(fds + [control]))
    stdout = request.get("stdout")
    for index, target in enumerate(targets):
        if index == stdout:  # the log pipe: 1 and 2 only, as a spawned process has it
            os.dup2(staged + index, 1)
            os.dup2(staged + index, 2)
        else:
            os.dup2(staged + index, target)
        os.close(staged + index)
    if stdout is not None and stdout not in range(len(targets)):
        raise ValueError("stdout names no descriptor")
    if request.get("cwd"):  # a host folder: found underneath what a standby covered
        os.chdir(host_path(request["cwd"], prepared.covers) if prepared else request["cwd"])
    set_environ(request["environ"])
    import time
    time.tzset()  # the time zone a fresh process reads from TZ at start
    global STDLIB_PATH
    STDLIB_PATH = stdlib_path()  # as a fresh bootstrap computes it, from the case's PYTHONPATH
    argv = [THIS_FILE] + [str(arg) for arg in request["argv"]]
    sys.argv[:] = argv
    spawned = cmdline + [fs_bytes(arg) for arg in argv[1:]]
    if hasattr(sys, "orig_argv"):
        sys.orig_argv = [os.fsdecode(arg) for arg in spawned]
    environ = request.get("exec_environ") or request["environ"]
    show_as_spawned(libc_once(), mapping, spawned,
                    [fs_bytes(k) + b"=" + fs_bytes(v) for k, v in environ.items()])
    forget_modules(pristine)  # time, again
    return argv


def set_environ(wanted):
    """os.environ becomes ``wanted``, in its order (a spawned process's follows its exec
    environment's), with a putenv or unsetenv only where the zygote's differs: its
    environment is the case's but for what the function declares, and clearing and
    setting all of ~40 variables was ~0.3 ms of a case. The mapping's own store is
    reordered where os.environ has one (Python 3's _data: a zygote is 3.6+)."""
    environ = os.environ
    data = getattr(environ, "_data", None)
    if not isinstance(data, dict) or not hasattr(environ, "encodevalue"):
        environ.clear()
        environ.update(wanted)
        return
    kept = []
    for name, value in wanted.items():
        key, raw = environ.encodekey(name), environ.encodevalue(value)
        if data.get(key) != raw:
            os.putenv(key, raw)
        kept.append((key, raw))
    for key in set(data) - set(key for key, _ in kept):
        os.unsetenv(key)
    data.clear()
    data.update(kept)


PR_SET_MM, PR_SET_MM_MAP = 35, 14
SHOWN = []  # the blocks /proc/self/cmdline and environ now show: kept alive


class MemoryMap(object):
    """What prctl(PR_SET_MM_MAP) needs of this process besides the new blocks: its map's
    fields (/proc/self/stat), its auxv, and a ctypes type to find a buffer's address
    with. A fork has its zygote's map, so leave_zygote reads it before the request."""

    def __init__(self):
        import _ctypes

        class Char(_ctypes._SimpleCData):
            _type_ = "c"

        self.char, self.addressof = Char, _ctypes.addressof
        with open("/proc/self/stat", "rb") as handle:
            data = handle.read()
        stat = [None, None] + data[data.rfind(b")") + 2:].split()  # stat[n - 1]: field n
        # start_code, end_code, start_data, end_data, start_brk; start_stack
        self.fields = [int(stat[n - 1]) for n in (26, 27, 45, 46, 47)]
        self.start_stack = int(stat[28 - 1])
        with open("/proc/self/auxv", "rb") as handle:
            self.auxv = handle.read()


def memory_map():
    try:
        return MemoryMap()
    except (OSError, ValueError, IndexError):
        return None


def show_as_spawned(libc, mapping, argv, environ):
    """Makes /proc/self/cmdline and /proc/self/environ show what a spawned bootstrap's
    show (the kernel shows the zygote's otherwise: a handler, ps, or a tool looking for
    a variable there would see them): prctl(PR_SET_MM_MAP) with ``mapping`` (the same
    memory map) and two new blocks. Where the kernel refuses (no CAP_SYS_RESOURCE, no
    CONFIG_CHECKPOINT_RESTORE) they stay the zygote's."""
    if mapping is None:
        return
    import struct
    try:
        args = b"".join(a + b"\0" for a in argv)
        env = b"".join(e + b"\0" for e in environ)
        block = bytearray(args + env + mapping.auxv)  # the three, one after the other
        view = mapping.char.from_buffer(block)  # while it lives the bytearray stays in place
        SHOWN.append((block, view))
        arg_start = mapping.addressof(view)
        env_start = arg_start + len(args)
        mm = struct.pack("=12QIi", *(mapping.fields + [
            libc("sbrk", 0), mapping.start_stack, arg_start, env_start, env_start,
            env_start + len(env), env_start + len(env), len(mapping.auxv), -1]))
        libc("prctl", PR_SET_MM, PR_SET_MM_MAP, mm, len(mm), 0)
    except (OSError, ValueError, IndexError):
        pass


def answer(channel, fields, held, config):
    """Sends the result and closes the channel: the end of the answer (the parent waits
    for this close, so a frame the handler forged before the result garbles it). Under
    --cov what was measured is saved in between: the call's duration, which the parent
    ends at the result frame, does not include coverage's analysis."""
    flush_stdio()
    try:
        channel.send("result", fields)
        coverage_save(config)
        os.close(channel.fd)
    except OSError:
        os.write(2, b"scftest: the result channel was closed by the function\n")
        os._exit(EXIT_CHANNEL_LOST)
    if channel.fd in held:
        held.remove(channel.fd)


def serve(handler, requests, channels, pid, held, config):
    """A warm instance: the module stays loaded (its globals, /tmp), and each further
    request the parent sends is answered on a channel of its own, in order. The
    "loaded" frame marks the call's start (the import was paid by the cold start).
    Returns when the parent closes the request pipe or the channels are used up."""
    for fd in channels:
        request = requests.next()
        if request is None:
            return
        before = set(sys.modules)
        channel = Channel(fd)
        channel.send("loaded", [])
        fields = call(handler, request, pid, before, config)
        answer(channel, fields, held, config)


class RequestReader(object):
    """The parent's requests on their pipe: ``<length>\n<JSON of length bytes>``, each
    an object with event, context and invocation."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""

    def _fill(self):
        while True:
            try:
                chunk = os.read(self.fd, 256 * 1024)
                break
            except OSError as exc:
                if exc.errno != 4:  # EINTR: Python 2 does not retry (a handler's alarm)
                    raise
        self.buffer += chunk
        return bool(chunk)

    def next(self):
        """The next request, or None at the end (the parent closed the pipe)."""
        while b"\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, rest = self.buffer.partition(b"\n")
        size = int(head)
        self.buffer = rest
        while len(self.buffer) < size:
            if not self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return parse_json(data.decode("utf-8"))


# ---------------------------------------------------------------------------------------
# Coverage (``scftest run --cov``, config["coverage"]: the folder holding the coverage.py
# release the runner provisioned for this interpreter, and a file descriptor to write to).
# coverage is imported before the instance is entered (the runner's folders are hidden
# after), then taken off sys.path and out of sys.modules while the handler runs, so the
# handler cannot import it; its package keeps a descriptor of its folder for the modules
# it loads later. It measures the code root from before the import to the last call. The
# process is killed after its answer (os._exit or SIGKILL: coverage's own save never
# runs), so after each call, between the result frame and the close of the channel (the
# parent waits for that close; the call's duration ends at the frame), the lines and arcs
# so far are analysed here, by this interpreter's coverage.py, and written whole over the
# descriptor as JSON.

def coverage_import(config, held):
    settings = config.get("coverage")
    if not settings:
        return
    fd = settings["fd"]
    close_on_exec(fd)
    held.append(fd)  # only the function's process keeps it (not its forks, nor pid 1)
    measure = {"fd": fd, "warnings": [], "modules": {}, "error": None}
    config["_coverage"] = measure
    folder = settings["lib"]
    sys.path.insert(0, folder)
    try:
        import coverage
        package = os.open(os.path.join(folder, "coverage"), os.O_RDONLY)
        close_on_exec(package)
        coverage.__path__[:] = [fd_path(package)]
        measure["coverage"] = coverage
    except Exception:
        measure["error"] = "cannot import coverage from %s: %s" % (folder, exception_message(sys.exc_info()[1]))
    finally:
        sys.path.remove(folder)


def coverage_start(config):
    measure = config.get("_coverage")
    if not measure or measure["error"]:
        return
    try:
        cov = measure["coverage"].Coverage(data_file=None, branch=True, source=[config["code_root"]],
                                           config_file=False)
        cov._warn = lambda message, *args, **kwargs: measure["warnings"].append(str(message))
        cov.start()
        measure["cov"] = cov
    except Exception:
        measure["error"] = "coverage did not start: %s" % exception_message(sys.exc_info()[1])
    coverage_hide(measure)


def coverage_hide(measure):
    for name in list(sys.modules):
        if name == "coverage" or name.startswith("coverage."):
            measure["modules"][name] = sys.modules.pop(name)


def coverage_save(config):
    measure = config.get("_coverage")
    if not measure:
        return
    sys.modules.update(measure["modules"])
    data = {"root": config["code_root"], "files": {}, "warnings": measure["warnings"], "error": measure["error"]}
    cov = measure.get("cov")
    try:
        if cov is not None:
            cov.stop()  # coverage's analysis is not the handler's code: untraced
            try:
                data["files"] = coverage_files(cov, config["code_root"])
            finally:
                cov.start()
    except Exception:
        data["error"] = "coverage could not analyse what it measured: %s" % exception_message(sys.exc_info()[1])
    coverage_hide(measure)
    text = to_bytes(stdlib("json").dumps(data))
    fd = measure["fd"]
    try:
        os.lseek(fd, 0, 0)
        os.ftruncate(fd, 0)
        while text:
            text = text[os.write(fd, text):]
    except OSError:
        pass  # the handler closed it: the parent says no data came


def coverage_files(cov, root):
    """{path relative to the code root: statements, arcs possible and executed}."""
    def value(analysis, name):  # a method in coverage 5 and 6, either in 7
        found = getattr(analysis, name)
        return found() if callable(found) else found

    files = {}
    for path in cov.get_data().measured_files():
        analysis = cov._analyze(path)
        files[os.path.relpath(path, root)] = {
            "statements": sorted(analysis.statements),
            "executed": sorted(set(analysis.statements) - set(analysis.missing)),
            "arcs_possible": sorted(value(analysis, "arc_possibilities")),
            "arcs_executed": sorted(value(analysis, "arcs_executed")),
        }
    return files


def close_script(path):
    """The runner hands the bootstrap over as a sealed in-memory file (/proc/self/fd/N);
    the interpreter has read it, so the descriptor goes."""
    if handed_fd(path) is not None:
        try:
            os.close(handed_fd(path))
        except OSError:
            pass
        sys.argv[0] = THIS_FILE  # the bootstrap's own name, not a descriptor's


def linger(parent):
    """Stay alive, like a warm instance, until the parent ends the case.

    The parent measures the function's memory now, then kills it all. While this process
    lives, whatever the handler started (even a process that called setsid) is still its
    descendant, or in its namespace. Never returns; leaves by itself after a minute, or
    when ``parent`` (a plain process's parent, the runner) is gone."""
    import time
    deadline = now() + 60
    while (parent is None or os.getppid() == parent) and now() < deadline:
        time.sleep(0.05)
    os._exit(0)


def probe(plan_text):
    """``_child.py --probe PLAN``: enter an instance as PLAN says and report, as one JSON
    line on stdout, what the function's process finds (``scftest doctor`` and the
    runner's choice of isolation read it). Exits 0 when the instance could be made."""
    plan = parse_json(plan_text)
    read_end, write_end = os.pipe()
    try:
        enter_instance(plan, [write_end])
    except (InstanceFailed, EnvironmentError) as exc:
        report = {"ok": False, "error": str(exc)}
    else:
        report = {"ok": True, "pid": os.getpid(), "uid": os.getuid(),
                  "capabilities": own_capabilities(), "var_user": writable("/var/user"),
                  "tmp": writable("/tmp"), "etc": writable("/etc"),
                  "prctl": read_back(Libc())}
    json = stdlib("json")
    os.write(1, to_bytes(json.dumps(report) + "\n"))
    os._exit(0 if report["ok"] else EXIT_NO_INSTANCE)


PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_GET_CHILD_SUBREAPER, PR_GET_NO_NEW_PRIVS = 2, 3, 37, 39


def read_back(libc):
    """What the process's prctl settings are now (scftest doctor shows them)."""
    import _ctypes

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    found = {"dumpable": libc("prctl", PR_GET_DUMPABLE, 0, 0, 0, 0),
             "no_new_privs": libc("prctl", PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)}
    for name, option in (("pdeathsig", PR_GET_PDEATHSIG), ("subreaper", PR_GET_CHILD_SUBREAPER)):
        value = Int(0)
        libc("prctl", option, _ctypes.byref(value), 0, 0, 0)
        found[name] = value.value
    return found


def own_capabilities():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return line.split()[1]
    return ""


def writable(folder):
    """"yes", or why not (the error's name: EROFS, EACCES, ...)."""
    import errno
    path = os.path.join(folder, ".scftest-probe-%d" % os.getpid())
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(path)
        return "yes"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


if __name__ == "__main__":
    main(sys.argv)
