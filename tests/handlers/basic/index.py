# -*- coding: utf-8 -*-
"""Well-behaved handlers, one per feature. Runs on Python 2.7 and 3.6+."""
import os
import sys
from decimal import Decimal

try:
    STRING_TYPES = (str, unicode)  # noqa: F821 (Python 2)
except NameError:
    STRING_TYPES = (str,)

INT_KEYS = ("memory_limit_in_mb", "time_limit_in_ms")


def hello(event, context):
    return "Hello World"


def echo(event, context):
    return event


def context_types(event, context):
    return {
        "keys": sorted(context),
        "ints": dict((k, type(context[k]) is int) for k in INT_KEYS),
        "strings": dict((k, isinstance(v, STRING_TYPES)) for k, v in context.items()
                        if k not in INT_KEYS),
        "context": context,
    }


def where(event, context):
    return {"cwd": os.getcwd(), "path": sys.path[:2], "name": __name__, "argv": sys.argv,
            "file": __file__}


def interleave(event, context):
    import logging
    logger = logging.getLogger()
    logger.info("hidden: root level is WARNING by default")
    logger.setLevel(logging.INFO)
    print("one")
    sys.stderr.write("two\n")
    logger.info("three")
    logger.debug("hidden: debug")
    sys.stdout.write("four")
    sys.stderr.write("five\n")
    return "ok"


def decimal_return(event, context):
    return Decimal("1.50")


def nested_decimal(event, context):
    return {"price": Decimal("1.50")}


def non_ascii(event, context):
    print(u"héllo 你好")
    return {u"msg": u"你好", u"e": u"é", u"emoji": u"\U0001F600", u"quote": u'say "hi"\n'}


def unserializable(event, context):
    return {"when": object()}


def too_large(event, context):
    return "x" * (6 * 1024 * 1024 + 1)


def sized(event, context):
    return event["char"] * event["count"]


def queued(event, context):
    print("order %s queued" % event.get("id"))
    return {"queued": True}


class NotFound(Exception):
    pass


class OrderError(LookupError):
    pass


class OrderMissing(OrderError):
    pass


def raises_subclass(event, context):
    raise OrderMissing("order 42")


def raises_key_error(event, context):
    return {}["id"]


def raises(event, context):
    raise ValueError('missing "id"')


def raises_custom(event, context):
    def inner():
        raise NotFound("order 42")
    inner()


def raises_chained(event, context):
    try:
        {}["id"]
    except KeyError:
        raise RuntimeError("lookup failed")


def raises_memory_error(event, context):
    raise MemoryError()


def raises_memory_error_in_a_helper(event, context):
    def check_quota():
        raise MemoryError("quota of %d items reached" % 3)
    check_quota()


def environment(event, context):
    return {"environ": dict(os.environ), "tmp_exists": os.path.isdir(os.environ["TMPDIR"])}


def leak_secret(event, context):
    secret = os.environ["DB_PASSWORD"]
    print("password is " + secret)
    if event.get("raise"):
        raise ValueError("bad password " + secret)
    return {"password": secret, "context_env": context["environment"]}


ROLE_NAMES = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")


def role_credentials(event, context):
    seen = dict((name, os.environ.get(name)) for name in ROLE_NAMES)
    print("credentials: %s" % sorted(seen.items()))
    if event.get("raise"):
        raise ValueError("rejected key " + str(seen["TENCENTCLOUD_SECRETKEY"]))
    lengths = dict((name, len(value) if value is not None else None) for name, value in seen.items())
    return {"seen": seen, "lengths": lengths, "context_env": context["environment"]}


def read_stdin(event, context):
    return sys.stdin.read()


def sys_exit(event, context):
    sys.exit(0)


def value(event, context):
    return event["value"]


def child_fds(event, context):
    import subprocess
    code = "import os; print(' '.join(sorted(os.listdir('/proc/self/fd'))))"
    kwargs = {} if sys.version_info[0] == 2 else {"close_fds": False}
    output = subprocess.check_output([sys.executable, "-c", code], **kwargs)
    return output.decode("ascii").split()


def limits(event, context):
    import resource
    return {"as": resource.getrlimit(resource.RLIMIT_AS)[0],
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}


def runtime_facts(event, context):
    """What a runtime profile says of the bootstrap, as user code sees it."""
    import logging
    root = logging.getLogger()
    streams = ["stdout" if h.stream is sys.stdout else getattr(h.stream, "name", "?")
               for h in root.handlers if isinstance(h, logging.StreamHandler)]
    return {"module": __name__, "root_level": logging.getLevelName(root.level),
            "root_streams": streams}
