"""What scftest adds when a handler imports a module nobody provides.

In the cloud a module that is in neither the standard library, the code folder, a layer
nor the runtime's image fails to import (an initialization error, 443, when the handler
module imports it). The instance has the same import path, so the record already shows
that failure; this step adds what to do about it:

- the module is not in the image: vendor it (the outcome's details say so);
- the image has it, but this machine has not provisioned it (``scftest image install``):
  the cloud would have imported it, so the failure says nothing about the handler. The
  case is an ERROR naming the command that provisions it, whatever it expected.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Optional

from scftest.i18n import _
from scftest.check.outcome import CaseOutcome, Verdict
from scftest.scf import images

# Python 3: No module named 'x.y'; Python 2: No module named x.y
_NO_MODULE = re.compile(r"^No module named '?([A-Za-z_][\w.]*)'?")


def missing_module(outcome: CaseOutcome) -> Optional[str]:
    """The (dotted) module whose import failed the invocation, if that is how it ended."""
    error = getattr(outcome.record, "error", None)
    if error is None or error.type not in ("ModuleNotFoundError", "ImportError"):
        return None
    found = _NO_MODULE.match(error.message or "")
    return found.group(1) if found else None


def explain(outcome: CaseOutcome, runtime: str, cache: Optional[Path] = None) -> CaseOutcome:
    """``outcome`` with what to do about a module nobody provides; an ERROR when the
    runtime's image has it but it is not provisioned in ``cache`` (the images cache)."""
    module = missing_module(outcome)
    if module is None:
        return outcome
    try:
        image = images.image(runtime)
    except images.UnknownRuntime:
        return outcome
    library = image.provider(module)
    if library is None:
        return _with_details(outcome, _not_in_image(module, image))
    if images.read_manifest(image.runtime, cache).provisioned(library) is not None:
        return outcome  # provisioned, and still not found: the record says the rest
    version = f" {library.version}" if library.version else ""
    summary = _("`{module}` is in the {runtime} image ({library}), but it is not provisioned on this machine").format(
        module=module, runtime=image.runtime, library=library.name + version)
    if library.unavailable:
        details = _("scftest cannot provision {library}: {why}; vendor a copy "
                    "into the code folder or a layer to run this case").format(library=library.name, why=library.unavailable)
    else:
        details = _("run `scftest image install {runtime} {library}` (or without a name, "
                    "for the whole image), then run the case again").format(runtime=image.runtime, library=library.name)
    return replace(outcome, verdict=Verdict.ERROR, summary=summary,
                   details="\n".join(part for part in (details, outcome.details) if part))


def _not_in_image(module: str, image: images.Image) -> str:
    top = module.split(".")[0]
    if not image.libraries:
        return _("`{module}` is not in the {runtime} image (it has no pre-installed libraries): "
                 "vendor it into the code folder or a layer").format(module=top, runtime=image.runtime)
    return _("`{module}` is not in the {runtime} image: vendor it into the code folder or a layer "
             "(`scftest image list {runtime}` shows what the image has)").format(module=top, runtime=image.runtime)


def _with_details(outcome: CaseOutcome, text: str) -> CaseOutcome:
    return replace(outcome, details="\n".join(part for part in (outcome.details, text) if part))
