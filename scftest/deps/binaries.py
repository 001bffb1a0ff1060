"""Whether a compiled file in a code root can be loaded by the cloud's interpreter: its name's
ABI tag (PEP 3149) and its header (ELF for Linux x86-64, Mach-O for macOS, PE for Windows)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from scftest.scf.extensions import CLOUD_MACHINE, CLOUD_PLATFORM, extension_suffixes
from scftest.i18n import N_, _

_TAGGED = re.compile(r"^(?P<module>[^.]+)\.(?P<tag>[^/]+)\.so$")
_CPYTHON = re.compile(r"^cpython-(?P<major>\d)(?P<minor>\d+)(?P<flags>[a-z]*)-(?P<platform>.+)$")
# Marked English (N_): the reasons translate them when they are made, in the command's language
# (product names are the same in every language).
_PLATFORMS = {"darwin": "macOS", "aarch64-linux-gnu": N_("Linux on ARM64 (aarch64)"),
              "arm-linux-gnueabihf": N_("Linux on 32-bit ARM"), "i386-linux-gnu": N_("32-bit Linux (i386)"),
              "x86_64-linux-musl": "Alpine Linux (musl)"}
_MACHINES = {0x03: N_("32-bit x86"), 0x28: N_("32-bit ARM"), 0xB7: "ARM64 (aarch64)"}
_MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_SCAN_LIMIT = 64 * 1024 * 1024  # read no more of a file to tell Python 2 from Python 3 builds


@dataclass(frozen=True)
class Unloadable:
    """A compiled extension the runtime cannot load, and why."""

    file: Path
    module: str
    reason: str  # "built for Python 3.11", "a macOS build", ...


def module_name(file: Path) -> str:
    """The module an extension file provides: ``_speedups`` of ``_speedups.cpython-36m-….so``."""
    return file.name.split(".")[0]


def unloadable(files: Sequence[Path], version: Tuple[int, int]) -> List[Unloadable]:
    """The extension files the runtime of ``version`` cannot load, leaving out those with a
    loadable sibling for the same module in the same folder (a package that ships builds for
    several Pythons)."""
    groups: Dict[Tuple[Path, str], List[Tuple[Path, Optional[str]]]] = {}
    for file in files:
        groups.setdefault((file.parent, module_name(file)), []).append((file, why_not(file, version)))
    found = []
    for (_folder, module), checked in groups.items():
        if all(reason is not None for _file, reason in checked):
            found.extend(Unloadable(file, module, reason) for file, reason in checked)
    return found


def why_not(file: Path, version: Tuple[int, int]) -> Optional[str]:
    """Why the cloud's CPython ``version`` cannot load ``file``; None when it can."""
    name = file.name
    if name.endswith(".pyd"):
        return "a Windows build (.pyd)"
    tagged = _TAGGED.match(name)
    tag = tagged.group("tag") if tagged else ""
    if tag:
        wrong = _wrong_tag(tag, version)
        if wrong:
            return wrong
    return _wrong_header(file, version, bare=not tag)


def _platform(platform: str) -> str:
    """A platform tag as a person reads it (``darwin`` -> macOS); an unknown one as it is."""
    return _(_PLATFORMS[platform]) if platform in _PLATFORMS else platform


def _wrong_tag(tag: str, version: Tuple[int, int]) -> Optional[str]:
    major, minor = version
    if tag == "abi3":
        return _("a build for Python 3's stable ABI (abi3), which Python 2 cannot load") if major == 2 else None
    cpython = _CPYTHON.match(tag)
    if not cpython:
        if tag.startswith("pypy"):
            return _("a build for PyPy ({tag})").format(tag=tag)
        return None  # a dotted name that is no ABI tag: judged by its header alone
    built = (int(cpython.group("major")), int(cpython.group("minor")))
    platform = cpython.group("platform")
    if built != version:
        python = f"{built[0]}.{built[1]}"
        if platform == CLOUD_PLATFORM:
            return _("built for Python {version} ({tag})").format(version=python, tag=tag)
        return _("built for Python {version} on {platform} ({tag})").format(
            version=python, platform=_platform(platform), tag=tag)
    if platform != CLOUD_PLATFORM:
        return _("built for {platform}, not Linux x86-64").format(platform=_platform(platform))
    if f".{tag}.so" not in extension_suffixes(version):
        return _("built for a CPython {version} with other ABI flags ({tag}); the cloud's is {cloud}").format(
            version=f"{major}.{minor}", tag=tag, cloud=extension_suffixes(version)[0][1:-3])
    return None


def _wrong_header(file: Path, version: Tuple[int, int], bare: bool) -> Optional[str]:
    try:
        with file.open("rb") as handle:
            head = handle.read(20)
            if bare and _is_elf_x86_64(head):
                handle.seek(0)
                return _wrong_python(handle.read(_SCAN_LIMIT), module_name(file), version)
    except OSError as exc:
        return _("cannot be read ({error})").format(error=exc.strerror or exc)
    if head[:4] in _MACH_O:
        return _("a macOS build (Mach-O)")
    if head[:2] == b"MZ":
        return _("a Windows build (PE)")
    if head[:4] != b"\x7fELF":
        return _("not a compiled library (no ELF header)")
    if head[4] != 2:
        return _("a 32-bit build")
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    if machine != CLOUD_MACHINE:
        named = _(_MACHINES[machine]) if machine in _MACHINES else _("machine type {number}").format(
            number=f"{machine:#x}")
        return _("built for {machine}, not x86-64").format(machine=named)
    return None


def _is_elf_x86_64(head: bytes) -> bool:
    return head[:4] == b"\x7fELF" and len(head) >= 20 and head[4] == 2 and head[5] == 1 \
        and int.from_bytes(head[18:20], "little") == CLOUD_MACHINE


def _wrong_python(data: bytes, module: str, version: Tuple[int, int]) -> Optional[str]:
    """A bare ``name.so`` says nothing of its Python in its name: its entry point does
    (``PyInit_name`` on Python 3, ``initname`` with ``Py_InitModule4`` on Python 2). A shared
    library that is no extension module has neither, and passes."""
    python3 = b"PyInit_" + module.encode("utf-8", "replace") in data
    python2 = b"Py_InitModule4" in data
    if version[0] == 2 and python3 and not python2:
        return "built for Python 3 (it has PyInit_" + module + ")"
    if version[0] == 3 and python2 and not python3:
        return "built for Python 2 (it uses Py_InitModule4)"
    return None
