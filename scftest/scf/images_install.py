"""``scftest image install``: provision a runtime's cloud libraries, at the cloud's versions.

Each library is installed by the runtime's own interpreter and its pip
(``python -m pip install --no-deps --target STAGING name==version``): the table is the whole
image, so dependencies come from their own rows at their own versions, never pip's choice.
What pip installed is checked against the table (the version in its metadata, the import
names) and kept in ``dists/<name>/``; ``site-packages/`` is then put together from every
kept library (hard links, or copies where links are not possible) and swapped in whole, so
a reader sees the old folder or the new one, never half of one. A namespace two libraries
share (``backports/``) gets both. ``manifest.json`` records each library after it is kept,
so an interrupted install keeps what it finished.

One install per runtime folder at a time (a lock file); a failed library is reported with
pip's reason and the others still install.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from scftest.i18n import _
from scftest.scf.images import (
    MANIFEST_NAME,
    SITE_PACKAGES,
    Image,
    Library,
    Manifest,
    Provisioned,
    image_folder,
    normalise,
    read_manifest,
    same_version,
)

# pip's variables that would send the files elsewhere or refuse to run outside a venv.
_PIP_VARIABLES_DROPPED = ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_REQUIRE_VIRTUALENV",
                          "PIP_NO_DEPS", "PIP_DEPS")
# The runner's own Python settings must not reach an interpreter of another version.
_PYTHON_VARIABLES_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE",
                             "PYTHONNOUSERSITE", "PYTHONUSERBASE", "VIRTUAL_ENV")
_EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Exit):\s+\S")
_COMPILER_ERROR = re.compile(r":\d+(?::\d+)?: (?:fatal )?error: ")
# pip's summaries of a failed build, which name the command, not the cause.
_PIP_SUMMARIES = ("Command errored out", 'Command "python setup.py', "command 'gcc' failed",
                  "command 'x86_64-linux-gnu-gcc' failed")
_NO_MATCH = re.compile(r"No matching distribution found for", re.IGNORECASE)
_NOT_FOUND_VERSION = re.compile(r"Could not find a version that satisfies the requirement", re.IGNORECASE)
_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")
REASON_LIMIT = 300


@dataclass(frozen=True)
class Outcome:
    """What happened to one library."""

    library: Library
    status: str  # installed | already | failed | unavailable
    version: str = ""  # the version now provisioned (installed / already)
    reason: str = ""  # failed / unavailable: why
    warnings: Tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("installed", "already", "unavailable")


@dataclass(frozen=True)
class Target:
    """Where and with what to provision."""

    image: Image
    interpreter: str  # the runtime's interpreter (scftest runtimes resolves it)
    python_version: str  # its X.Y.Z
    root: Optional[Path] = None  # the images cache; default images.cache_root()

    @property
    def folder(self) -> Path:
        return image_folder(self.image.runtime, self.root)


Progress = Callable[[int, int, Library], None]


def provision(target: Target, libraries: Sequence[Library], force: bool = False,
              on_start: Optional[Progress] = None,
              on_done: Optional[Callable[[Outcome], None]] = None) -> List[Outcome]:
    """Provision ``libraries`` of ``target.image``; returns one Outcome per library, in order.

    A library already provisioned at the cloud's version is left alone unless ``force``.
    ``on_start(index, total, library)`` and ``on_done(outcome)`` report progress.
    """
    folder = target.folder
    folder.mkdir(parents=True, exist_ok=True)
    outcomes: List[Outcome] = []
    with _locked(folder):
        manifest = replace(read_manifest(target.image.runtime, target.root),
                           interpreter=target.interpreter, python_version=target.python_version)
        changed = False
        for index, library in enumerate(libraries, 1):
            if on_start:
                on_start(index, len(libraries), library)
            outcome = _one(target, library, manifest, force)
            if outcome.status in ("installed", "failed"):
                manifest = _recorded(manifest, outcome)
                _write_manifest(folder, manifest)
                changed = changed or outcome.status == "installed"
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
        if changed or not (folder / SITE_PACKAGES).is_dir():
            _assemble(folder, target.image, manifest)
        _write_manifest(folder, manifest)
        _remove(folder / "staging")
    return outcomes


# ---------------------------------------------------------------------------------------
# One library.

def _one(target: Target, library: Library, manifest: Manifest, force: bool) -> Outcome:
    if library.unavailable:
        return Outcome(library, "unavailable", reason=library.unavailable)
    kept = target.folder / "dists" / library.key
    found = manifest.provisioned(library)
    if found is not None and kept.is_dir() and not force:
        return Outcome(library, "already", version=found.version)
    started = time.monotonic()
    staging = target.folder / "staging" / library.key
    _remove(staging)
    staging.mkdir(parents=True)
    try:
        failure = _pip_install(target, library, staging)
        if failure:
            return Outcome(library, "failed", reason=failure, seconds=time.monotonic() - started)
        version, problem = _check_version(library, staging)
        if problem:
            return Outcome(library, "failed", reason=problem, seconds=time.monotonic() - started)
        problem = _keep_only_renamed(staging, *library.rename) if library.rename else ""
        if problem:
            return Outcome(library, "failed", reason=problem, seconds=time.monotonic() - started)
        warnings = tuple(_("it has no module {name}: scftest's table may be wrong (please report it)").format(
                             name=repr(name))
                         for name in library.imports if not _provides(staging, name))
        _remove(kept)
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, kept)
    finally:
        _remove(staging)
    return Outcome(library, "installed", version=version, warnings=warnings,
                   seconds=time.monotonic() - started)


def pip_command(interpreter: str, library: Library, staging: Path) -> List[str]:
    """The interpreter's own pip, into ``staging``, without dependencies (they are rows too)."""
    return [interpreter, "-s", "-m", "pip", "install", "--no-deps", "--target", str(staging),
            library.requirement]


def pip_environment(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The runner's environment (pip's index and proxy settings stay) minus what would
    misdirect the install; pip's output in UTF-8 whatever the locale."""
    env = dict(os.environ if environ is None else environ)
    for name in _PIP_VARIABLES_DROPPED + _PYTHON_VARIABLES_DROPPED:
        env.pop(name, None)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONIOENCODING="utf-8")
    return env


def _pip_install(target: Target, library: Library, staging: Path) -> str:
    """Run pip; '' on success, else the reason."""
    try:
        done = subprocess.run(pip_command(target.interpreter, library, staging), cwd=str(target.folder),
                              env=pip_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    except OSError as exc:
        return _("cannot run {python}: {error}").format(python=target.interpreter, error=exc.strerror or exc)
    if done.returncode == 0:
        return ""
    return pip_reason(done.stdout.decode("utf-8", "replace"), done.returncode)


def pip_reason(output: str, returncode: int = 1) -> str:
    """The line of pip's output that says why it failed.

    A build's own exception (``OSError: mysql_config not found``) or the compiler's error
    (``gpgme.h: No such file or directory``) says more than pip's summary after it, so the
    last such line wins; then pip's own error (for a missing version, the line that lists the
    versions there are); then the last line.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if "No module named pip" in output:
        return _("this interpreter has no pip: install it with `python -m ensurepip` (or your system's python3-pip)")
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    if exceptions:
        return _short(exceptions[-1])
    compiler = [line for line in lines if _COMPILER_ERROR.search(line)]
    if compiler:  # a C extension that does not build: the missing header says what to install
        return _short(compiler[-1])
    errors = [_strip_error(line) for line in lines
              if line.startswith(("ERROR:", "error:")) or _NO_MATCH.search(line) or _NOT_FOUND_VERSION.search(line)]
    errors = [line for line in errors if not line.startswith(_PIP_SUMMARIES)] or errors
    versions = [line for line in errors if _NOT_FOUND_VERSION.search(line)]
    if versions:
        return _short(versions[-1])
    if errors:
        return _short(errors[-1])
    return _short(lines[-1]) if lines else _("pip exited with status {status} and printed nothing").format(
        status=returncode)


def _strip_error(line: str) -> str:
    return re.sub(r"^(ERROR|error):\s*", "", line)


def _short(text: str) -> str:
    text = _VERSIONS.sub(_fewer_versions, text)
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _fewer_versions(match: "re.Match[str]") -> str:
    # pip lists every release; the oldest and the newest few say what there is.
    versions = [v.strip() for v in match.group(1).split(",")]
    if len(versions) <= 8:
        return match.group(0)
    return f"(from versions: {', '.join(versions[:3])}, … {', '.join(versions[-3:])})"


# ---------------------------------------------------------------------------------------
# Checks on what pip installed.

def installed_version(staging: Path, project: str) -> Optional[str]:
    """The ``Version:`` of ``project``'s metadata (dist-info or egg-info) in ``staging``."""
    wanted = normalise(project)
    for meta in sorted(staging.glob("*.dist-info")) + sorted(staging.glob("*.egg-info")):
        stem = meta.name.rsplit(".", 1)[0]
        name = stem.split("-", 1)[0] if meta.suffix == ".dist-info" else re.sub(r"-\d.*$", "", stem)
        if normalise(name) != wanted:
            continue
        text = _read_metadata(meta)
        match = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
        if match:
            return match.group(1)
    return None


def _read_metadata(meta: Path) -> str:
    for name in ("METADATA", "PKG-INFO"):
        path = meta / name if meta.is_dir() else meta
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return ""


def _check_version(library: Library, staging: Path) -> Tuple[str, str]:
    """(installed version, '') or ('', why it is not the cloud's)."""
    project = library.requirement.split("==", 1)[0]
    version = installed_version(staging, project)
    if version is None:
        return "", _("pip reported success but installed no metadata for {project}").format(project=project)
    if not same_version(version, library.pinned_version):
        return "", _("pip installed {project} {version}, not the cloud's {cloud}").format(
            project=project, version=version, cloud=library.pinned_version)
    return version, ""


def _keep_only_renamed(staging: Path, installed: str, name: str) -> str:
    """The image has ``installed`` under ``name`` and nothing else of the distribution;
    '' when done, else why not."""
    source = staging / installed
    if not source.is_dir():
        return _("the distribution has no package {package} to provide {name}").format(
            package=repr(installed), name=repr(name))
    holder = staging.parent / f"{staging.name}.renamed"
    _remove(holder)
    holder.mkdir()
    os.replace(source, holder / name)
    _remove(staging)
    os.replace(holder, staging)
    return ""


def _provides(folder: Path, module: str) -> bool:
    parts = module.split(".")
    base = folder.joinpath(*parts[:-1])
    last = parts[-1]
    if (base / last).is_dir() or (base / f"{last}.py").is_file():
        return True
    return any(base.glob(f"{last}.*.so")) or (base / f"{last}.so").is_file() or (base / f"{last}.pyd").is_file()


# ---------------------------------------------------------------------------------------
# The manifest and site-packages.

def _recorded(manifest: Manifest, outcome: Outcome) -> Manifest:
    key = outcome.library.key
    packages = dict(manifest.packages)
    failed = dict(manifest.failed)
    if outcome.status == "installed":
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        packages[key] = Provisioned(outcome.library.name, outcome.version, outcome.library.imports, stamp)
        failed.pop(key, None)
    else:
        failed[key] = outcome.reason
    return replace(manifest, packages=packages, failed=failed)


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    path = folder / MANIFEST_NAME
    temporary = folder / f".{MANIFEST_NAME}.{os.getpid()}"
    temporary.write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _assemble(folder: Path, image: Image, manifest: Manifest) -> None:
    """site-packages = every kept library's files, in table order (a later file of a shared
    namespace replaces an earlier one), swapped in whole."""
    fresh = folder / f"{SITE_PACKAGES}.new"
    _remove(fresh)
    fresh.mkdir()
    for library in image.libraries:
        kept = folder / "dists" / library.key
        if library.key in manifest.packages and kept.is_dir():
            _link_tree(kept, fresh)
    current = folder / SITE_PACKAGES
    old = folder / f"{SITE_PACKAGES}.old"
    _remove(old)
    if current.exists():
        os.replace(current, old)
    os.replace(fresh, current)
    _remove(old)


def _link_tree(source: Path, destination: Path) -> None:
    for top, folders, files in os.walk(source):
        relative = Path(top).relative_to(source)
        if relative.parts[:1] == ("bin",):  # pip --target puts console scripts there
            folders[:] = []
            continue
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in files + [f for f in folders if os.path.islink(os.path.join(top, f))]:
            _link_file(Path(top) / name, destination / relative / name)


def _link_file(source: Path, destination: Path) -> None:
    if destination.is_symlink() or destination.is_file():
        destination.unlink()
    if source.is_symlink():
        os.symlink(os.readlink(source), destination)
        return
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links: a copy keeps the mtime .pyc files check
        shutil.copy2(source, destination)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
