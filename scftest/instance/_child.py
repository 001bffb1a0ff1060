# -*- coding: utf-8 -*-
"""scftest's bootstrap: runs ONE SCF invocation inside the handler's own interpreter.

Run as a script, never imported by the runner:

    python -u -s _child.py CONFIG_PATH RESULT_FD

It must run unchanged on Python 2.7 and 3.6+, so it uses the standard library only and
the syntax common to both. Every per-case process pays for this file's start-up, so it
imports next to nothing eagerly: ``json``, ``logging`` and ``traceback`` are loaded only
when they are needed (see "Keeping start-up cheap" below).

What it does, in order (scftest/executor.py is the other end):

1. reads the config the parent wrote (JSON) and deletes the file at once;
2. makes RESULT_FD close-on-exec, so processes the handler spawns cannot write to it;
3. sets resource limits (an address-space safety net, SCF's 1024 file descriptors);
4. makes stdout/stderr write UTF-8 (SCF's LANG is en_US.UTF8) and arranges for the root
   logger to get a stdout handler, as the cloud runtime gives it one;
5. puts the code root first on sys.path and makes it the working directory;
6. sends a "ready" frame (the parent starts the time limit there), imports the handler
   module, calls ``handler(event, context)`` positionally, serializes the return value as
   SCF does, and sends one "result" frame, then leaves with ``os._exit`` (the cloud keeps
   the process warm, so atexit hooks and non-daemon threads never delay the answer).

Handler lookup. ``<file>.<function>``: ``<file>`` is a path relative to the code root
without ``.py``; ``src/app.handler`` loads ``src/app.py``. The file is loaded from that
exact path (never by searching sys.path, which could pick a same-named module elsewhere)
under its file name (``index``, ``app``) as module name, so it is not ``__main__``. For a
handler in a sub-folder, the code root stays the working directory and sys.path[0], and the
handler's folder comes right after it on sys.path, so both ``import sibling`` and
``from src import sibling`` work, as with Tencent's own runtime, which adds the entry file's
folder to sys.path.

Timing. ``duration_ms`` in the result is the handler call only (what SCF bills); the import
is timed separately as ``init_ms``. The parent's time limit runs from the ready frame, so
it covers import + call (the stricter reading: a case that passes here does not time out in
the cloud however SCF accounts for the import).

The channel. Frames on RESULT_FD (never stdout, which the handler owns) are::

    SCFT <kind> <length>\\n<payload of length bytes>END\\n

and the payload is a run of fields ``<name> <length>\\n<bytes>\\n`` (UTF-8 text). The
lengths and the END marker let the parent tell a complete frame from a truncated or
garbled one.
"""

import os
import sys

PY2 = sys.version_info[0] == 2
# The compiled code's own file name (what tracebacks show), whatever __file__ says.
THIS_FILE = (lambda: None).__code__.co_filename
MAX_RET_MSG_BYTES = 6 * 1024 * 1024  # SCF's response cap ("body size is too long", 407)
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

STDLIB_PATH = list(sys.path[1:])  # sys.path[0] is this script's folder: not the stdlib


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
    if len(text) <= JSON_AS_LITERAL_MAX and "\\ud" not in text and "\\/" not in text:
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


def read_config(path):
    with open(path, "rb") as handle:
        data = handle.read()
    os.unlink(path)
    return parse_json(data.decode("utf-8"))


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


def configure_root_logger(logging):
    """The cloud runtime gives the root logger a handler writing to stdout (no format:
    the message alone). The root level stays Python's default WARNING, so a handler's
    ``logger.setLevel(logging.INFO)`` is what makes INFO lines appear, as in the cloud."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))


class ConfigureAfterExec(object):
    """Wraps logging's real loader: run it, then configure the root logger."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.__loader__ = self._loader  # leave no trace of the wrapper
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        configure_root_logger(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class LoggingHook(object):
    """Configures the root logger the moment anything imports ``logging``.

    Importing logging costs ~5 ms on Python 3; most handlers do import it, but a bare one
    should not pay. The result is the same as configuring it up front: nothing can log
    before logging is imported. Python 3 uses find_spec, Python 2 find_module.
    """

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
                    spec.loader = ConfigureAfterExec(spec.loader)
                return spec
        return None

    def find_module(self, name, path=None):  # Python 2
        return self if name == "logging" and PY2 else None

    def load_module(self, name):  # Python 2
        self._remove()
        module = stdlib(name)
        configure_root_logger(module)
        return module


def prepare_logging():
    if "logging" in sys.modules:
        configure_root_logger(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, LoggingHook())


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


def load_module(name, path):
    if PY2:
        import imp
        # imp.load_source re-initialises an existing module of that name in place.
        if name in sys.modules:
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
    register = name not in sys.modules  # never replace a module already in use (os.py...)
    if register:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if register:
            sys.modules.pop(name, None)
        raise
    return module


def find_handler(root, handler):
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
    try:
        module = load_module(name, path)
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


def error_fields(exc_type, exc, tb):
    return [
        ("error_type", exc_type.__name__),
        ("error_qualified", qualified_name(exc_type)),
        ("error_message", exception_message(exc)),
        ("traceback", format_traceback(exc_type, exc, tb)),
    ]


def is_memory_error(exc_type):
    return isinstance(exc_type, type) and issubclass(exc_type, MemoryError)


# ---------------------------------------------------------------------------------------
# Serializing the return value as SCF does.

def default_encoder(value):
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def scf_dumps(value):
    """``json.dumps(value, ensure_ascii=False)`` as SCF's runtime calls it.

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
    text = stdlib("json").dumps(value, ensure_ascii=False)
    if isinstance(text, bytes):  # Python 2 returns str when every input was str
        text = text.decode("utf-8")
    return text


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


def cut_ret_msg(text):
    """Async returns are never sent to a caller; keep the log copy bounded."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= MAX_RET_MSG_BYTES:
        return text
    return data[:MAX_RET_MSG_BYTES].decode("utf-8", "ignore") + (
        u"... [%d bytes cut]" % (len(data) - MAX_RET_MSG_BYTES))


# ---------------------------------------------------------------------------------------
# The invocation.

def peak_rss_kb():
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children)


def invoke(config):
    """Load the handler and call it; returns the result frame's fields."""
    started = now()
    try:
        handler = find_handler(config["code_root"], config["handler"])
    except HandlerNotFound as wrapper:
        error = wrapper.error
        return [("outcome", "not_found")] + error_fields(type(error), error, None)
    except InitFailed as wrapper:
        return failure_fields(wrapper.exc_info, "init_error")
    loaded = now()
    failure = None
    try:
        value = handler(config["event"], config["context"])
    except Exception:
        failure = sys.exc_info()
    timing = [("init_ms", "%.3f" % ((loaded - started) * 1000.0)),
              ("duration_ms", "%.3f" % ((now() - loaded) * 1000.0))]
    if os.getpid() != config["_pid"]:
        os._exit(0)  # a process the handler forked returned from it: not the invocation
    if failure is not None:
        return timing + failure_fields(failure, "error")
    return timing + serialize(value, config.get("invocation") == "async")


def failure_fields(exc_info, outcome):
    """An exception as result fields; a MemoryError is SCF's memory limit instead."""
    exc_type, exc, tb = exc_info
    if is_memory_error(exc_type):
        outcome = "memory"
    return [("outcome", outcome)] + error_fields(exc_type, exc, tb)


def serialize(value, asynchronous):
    """The return value as SCF hands it back (sync) or writes it to the log (async)."""
    try:
        ret_msg = scf_dumps(value)
    except Exception:
        return failure_fields(sys.exc_info(), "error")
    if asynchronous:  # never sent to a caller, so never too large: only the log copy
        return [("outcome", "ok"), ("ret_msg", cut_ret_msg(ret_msg))]
    size = len(ret_msg.encode("utf-8", "backslashreplace"))
    if size > MAX_RET_MSG_BYTES:
        return [("outcome", "too_large"),
                ("error_type", "ResponseSizeTooLarge"),
                ("error_qualified", "scf.ResponseSizeTooLarge"),
                ("error_message", "%s: the return value serializes to %d bytes, over "
                                  "SCF's limit of %d" % (BODY_TOO_LONG, size,
                                                         MAX_RET_MSG_BYTES))]
    return [("outcome", "ok"), ("ret_msg", ret_msg)]


def prepare(config):
    """Everything between reading the config and importing the handler."""
    set_limits(config)
    utf8_stdio()
    sys.dont_write_bytecode = True
    root = config["code_root"]
    file_part, _ = split_handler(config["handler"])
    folders = [root]
    handler_dir = os.path.dirname(os.path.join(root, file_part))
    if os.path.normpath(handler_dir) != os.path.normpath(root):
        folders.append(handler_dir)
    preload_shadowed(folders)
    prepare_logging()
    sys.path[0:1] = folders  # replaces this script's own folder
    if os.path.isdir(root):  # otherwise find_handler reports it
        os.chdir(root)


def main(argv):
    config_path, fd = argv[1], int(argv[2])
    parent = os.getppid()
    close_on_exec(fd)
    channel = Channel(fd)
    config = read_config(config_path)
    config["_pid"] = os.getpid()
    del sys.argv[1:]  # the handler has no business with the channel's fd number
    prepare(config)
    channel.send("ready", [])
    fields = invoke(config)
    fields.append(("maxrss_kb", peak_rss_kb()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        channel.send("result", fields)
    except OSError:
        os.write(2, b"scftest: the result channel was closed by the function\n")
        os._exit(EXIT_CHANNEL_LOST)
    linger(parent)


def linger(parent):
    """Stay alive, like a warm instance, until the parent kills the process tree.

    While this process lives, whatever the handler started (even a process that called
    setsid) is still its descendant, so the parent can find and kill it. Never returns;
    leaves by itself if the parent is gone or after a minute."""
    import time
    deadline = now() + 60
    while os.getppid() == parent and now() < deadline:
        time.sleep(0.05)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
