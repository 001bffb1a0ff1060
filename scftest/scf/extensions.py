"""Which compiled extension files an SCF Python runtime can load: SCF's facts as data.

The cloud runs CPython on Linux x86-64 (glibc). An extension module's file name says what it
was built for (PEP 3149): ``name.cpython-36m-x86_64-linux-gnu.so`` is CPython 3.6 (the ``m``
ABI flag of 3.6 and 3.7; gone from 3.8), ``name.abi3.so`` the stable ABI of any Python 3, a
bare ``name.so`` whatever it was compiled against (Python 2's only spelling), and
``name.cp36-win_amd64.pyd`` / ``name.cpython-36m-darwin.so`` Windows and macOS. The suffixes
below are ``importlib.machinery.EXTENSION_SUFFIXES`` of each CPython on that platform (2.7:
``imp.get_suffixes()``), so a file the runtime would not load is the one it would not find.
"""

from __future__ import annotations

from typing import Tuple

CLOUD_PLATFORM = "x86_64-linux-gnu"  # the multiarch tag of the cloud's interpreters
CLOUD_MACHINE = 0x3E  # ELF e_machine of x86-64
EXTENSION_ENDINGS = (".so", ".pyd")  # what an extension module's file name ends with


def extension_suffixes(version: Tuple[int, int]) -> Tuple[str, ...]:
    """The file endings an extension module may have on the cloud's CPython ``version``."""
    major, minor = version
    if major == 2:
        return ("module.so", ".so")
    flag = "m" if minor < 8 else ""
    return (f".cpython-{major}{minor}{flag}-{CLOUD_PLATFORM}.so", ".abi3.so", ".so")
