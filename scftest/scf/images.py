"""What each SCF Python runtime's cloud image has pre-installed, and where scftest keeps its copy.

The facts are data, in ``images.json`` beside this module. For each runtime SCF offers:

- ``source``: where the table comes from;
- ``libraries``: one row per library, in the source's order, with
  ``name`` and ``version`` exactly as the source writes them (``version`` is null when the
  image's version is not published), ``imports`` (the import names the library provides:
  ``Pillow`` -> ``PIL``, ``protobuf`` -> ``google.protobuf``), and optionally
  ``listed: false`` (a module the image has beyond the source's table), ``requirement``
  (what pip installs when it is not ``name==version``), ``pip_version`` (the version pip's
  metadata shows, when the source spells it otherwise: pyaml's "2019.4.1" is 19.4.1), ``rename`` (``[installed, in the
  image]``: the image has the installed package under another name), ``unavailable`` (why
  scftest cannot provision it) and ``note`` (shown by ``scftest image list``).

Python 2.7 and 3.6 have the seed's tables plus Tencent's ``qcloud_cos_v5`` / ``qcloud_cos_v4``;
Python 3.7, 3.9 and 3.10 have none (docs 583/11061 and 583/40323).

``scftest image install`` provisions a runtime's libraries into
``$XDG_CACHE_HOME/scftest/images/<runtime>/`` (default ``~/.cache/scftest/images/``):
``site-packages/`` is the folder a handler imports them from, ``manifest.json`` records
what was installed (``read_manifest``), so nothing has to be imported to know it.
``site-packages/`` is a site directory, as the image's is: add it with ``site.addsitedir``,
not a bare ``sys.path`` entry, so its ``.pth`` files work (protobuf's ``google`` namespace
on Python 2.7 exists only through ``protobuf-3.6.0-py2.7-nspkg.pth``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from scftest.errors import ScftestError
from scftest.i18n import _

_DATA = Path(__file__).resolve().parent / "images.json"
MANIFEST_NAME = "manifest.json"
SITE_PACKAGES = "site-packages"


class UnknownRuntime(ScftestError, ValueError):
    """A runtime name SCF does not offer; the message lists the offered ones."""


class UnknownLibrary(ScftestError, ValueError):
    """A name that is not in a runtime's image; the message says what to do."""


@dataclass(frozen=True)
class Library:
    """One library of a cloud image."""

    name: str
    version: Optional[str]  # as the source writes it; None when the image's version is not published
    imports: Tuple[str, ...]  # import names it provides, dotted for a package in a namespace
    listed: bool = True  # a row of the source's table (False: a module the image has beyond it)
    requirement: str = ""  # what pip installs
    pip_version: str = ""  # the version pip's metadata shows, when the source spells it otherwise
    rename: Optional[Tuple[str, str]] = None  # (the installed top-level package, its name in the image)
    unavailable: str = ""  # why scftest cannot provision it; empty when it can
    note: str = ""

    @property
    def key(self) -> str:
        """The name normalised as pip does (PEP 503): what the manifest is keyed by."""
        return normalise(self.name)

    @property
    def pinned_version(self) -> Optional[str]:
        """The version a provisioned copy must have: the cloud's, else the one pip is asked for."""
        if self.pip_version:
            return self.pip_version
        if self.version:
            return self.version
        _, _, version = self.requirement.partition("==")
        return version or None


@dataclass(frozen=True)
class Image:
    """A runtime's table of pre-installed libraries."""

    runtime: str
    source: str
    libraries: Tuple[Library, ...]

    def find(self, name: str) -> Optional[Library]:
        """The library called ``name`` (pip's spelling rules) or providing the import ``name``."""
        wanted = normalise(name)
        for library in self.libraries:
            if library.key == wanted:
                return library
        return self.provider(name)

    def select(self, names: Sequence[str]) -> Tuple[Library, ...]:
        """The libraries called ``names`` (or providing those imports), in the order given,
        each once; every library when ``names`` is empty. Raises UnknownLibrary."""
        if not names:
            return self.libraries
        chosen: Dict[str, Library] = {}
        for name in names:
            library = self.find(name)
            if library is None:
                raise UnknownLibrary(self._not_here(name))
            chosen.setdefault(library.key, library)
        return tuple(chosen.values())

    def _not_here(self, name: str) -> str:
        if not self.libraries:
            return _("the {runtime} image has no pre-installed libraries: vendor {name} into the code folder "
                     "or a layer (`scftest image list {runtime}` says where this comes from)").format(
                runtime=self.runtime, name=repr(name))
        known = [library.name for library in self.libraries]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = _("did you mean '{name}'? ").format(name=close[0]) if close else ""
        return _("{name} is not in the {runtime} image: {hint}`scftest image list {runtime}` shows its "
                 "libraries; anything else is yours to vendor into the code folder or a layer").format(
            name=repr(name), runtime=self.runtime, hint=hint)

    def provider(self, module: str) -> Optional[Library]:
        """The library that provides ``module`` (``google.protobuf.json_format`` -> protobuf).

        A bare namespace (``google``, ``backports``) is provided by the libraries under it;
        the first in the table is returned.
        """
        best: Optional[Tuple[int, Library]] = None
        for library in self.libraries:
            for name in library.imports:
                if module == name or module.startswith(name + "."):
                    if best is None or len(name) > best[0]:
                        best = (len(name), library)
                elif name.startswith(module + ".") and best is None:
                    best = (0, library)
        return best[1] if best else None


@dataclass(frozen=True)
class Provisioned:
    """A library ``scftest image install`` put into the runtime's folder."""

    name: str
    version: str  # the version pip installed (read from its metadata)
    imports: Tuple[str, ...]
    installed_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Manifest:
    """What a runtime's folder holds, as ``manifest.json`` records it."""

    runtime: str
    interpreter: str = ""
    python_version: str = ""
    packages: Mapping[str, Provisioned] = field(default_factory=dict)  # keyed by Library.key
    failed: Mapping[str, str] = field(default_factory=dict)  # key -> why the last try failed

    def provisioned(self, library: Library) -> Optional[Provisioned]:
        """The provisioned copy of ``library`` when it has the version the cloud has."""
        found = self.packages.get(library.key)
        if found is None or not same_version(found.version, library.pinned_version):
            return None
        return found

    def to_dict(self) -> Dict[str, Any]:
        return {
            "runtime": self.runtime,
            "interpreter": self.interpreter,
            "python_version": self.python_version,
            "packages": {key: {"name": p.name, "version": p.version, "imports": list(p.imports),
                               "installed_at": p.installed_at}
                         for key, p in self.packages.items()},
            "failed": dict(self.failed),
        }


def normalise(name: str) -> str:
    """pip's rule for comparing project names (PEP 503): case and runs of ``-_.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(installed: str, wanted: Optional[str]) -> bool:
    """Whether ``installed`` is the version ``wanted`` (None: any version will do)."""
    if wanted is None:
        return True
    return _release(installed) == _release(wanted)


def _release(version: str) -> Tuple[str, ...]:
    # "18" and "18.0" are one version to pip; trailing zero parts do not count.
    parts = version.strip().lower().split(".")
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return tuple(parts)


@lru_cache(maxsize=1)
def _raw() -> Dict[str, Any]:
    with _DATA.open(encoding="utf-8") as handle:
        return json.load(handle)["runtimes"]


def runtimes() -> Tuple[str, ...]:
    """The runtimes SCF offers, oldest first (the keys of ``images.json``)."""
    return tuple(_raw())


def canonical(runtime: str) -> str:
    """``python3.6`` -> ``Python3.6``; raises UnknownRuntime for a runtime SCF does not offer."""
    for name in runtimes():
        if name.lower() == runtime.strip().lower():
            return name
    raise UnknownRuntime(_("{runtime} is not a runtime SCF offers; the runtimes are: {runtimes}").format(
        runtime=repr(runtime), runtimes=", ".join(runtimes())))


def image(runtime: str) -> Image:
    """The table of ``runtime``; raises UnknownRuntime."""
    name = canonical(runtime)
    raw = _raw()[name]
    return Image(name, raw["source"], tuple(_library(row) for row in raw["libraries"]))


def _library(row: Mapping[str, Any]) -> Library:
    version = row.get("version")
    rename = row.get("rename")
    return Library(
        name=row["name"],
        version=version,
        imports=tuple(row["imports"]),
        listed=row.get("listed", True),
        requirement=row.get("requirement") or (f"{row['name']}=={version}" if version else ""),
        pip_version=row.get("pip_version", ""),
        rename=(rename[0], rename[1]) if rename else None,
        unavailable=row.get("unavailable", ""),
        note=row.get("note", ""),
    )


# ---------------------------------------------------------------------------------------
# Where the provisioned copies live.

def cache_root(environ: Optional[Mapping[str, str]] = None) -> Path:
    """``$XDG_CACHE_HOME/scftest/images`` (default ``~/.cache/scftest/images``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scftest" / "images"


def image_folder(runtime: str, root: Optional[Path] = None) -> Path:
    """The folder of one runtime's provisioned libraries (its manifest, its site-packages)."""
    return (root or cache_root()) / canonical(runtime)


def site_packages(runtime: str, root: Optional[Path] = None) -> Path:
    """The folder a handler of ``runtime`` imports the image's libraries from."""
    return image_folder(runtime, root) / SITE_PACKAGES


def read_manifest(runtime: str, root: Optional[Path] = None) -> Manifest:
    """What ``scftest image install`` recorded for ``runtime``; empty when nothing was
    provisioned or the record cannot be read (a later install writes it anew)."""
    name = canonical(runtime)
    path = image_folder(name, root) / MANIFEST_NAME
    try:
        with path.open(encoding="utf-8") as handle:
            raw = json.load(handle)
        packages = {key: Provisioned(p["name"], p["version"], tuple(p["imports"]), p["installed_at"])
                    for key, p in raw.get("packages", {}).items()}
        failed = {str(k): str(v) for k, v in raw.get("failed", {}).items()}
        return Manifest(name, str(raw.get("interpreter", "")), str(raw.get("python_version", "")),
                        packages, failed)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest(name)
