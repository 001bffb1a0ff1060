"""docs/fidelity.md is what the runtime profiles say, and every fact has a basis and a
source: the page cannot drift from what scftest does (test_profiles.py checks the
profiles against the bootstrap on the real interpreters)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from scftest.render import fidelity_page
from scftest.scf.profiles import CHOSEN, CONFIRMED, INFERRED, PROFILES, SOURCES

PAGE = Path(__file__).resolve().parents[2] / "docs" / "fidelity.md"


def test_the_page_is_what_scftest_fidelity_prints():
    printed = subprocess.run([sys.executable, "-m", "scftest", "fidelity"], capture_output=True, text=True,
                             check=True, timeout=120).stdout
    assert printed == fidelity_page(list(PROFILES.values()), SOURCES)
    assert PAGE.read_text(encoding="utf-8") == printed, "run: scftest fidelity > docs/fidelity.md"


def test_every_runtime_has_every_behaviour_once_with_a_basis_and_a_known_source():
    topics = {fact.topic for profile in PROFILES.values() for fact in profile.facts}
    known = {name for name, _ in SOURCES}
    for profile in PROFILES.values():
        assert sorted(fact.topic for fact in profile.facts) == sorted(topics), profile.runtime
        for fact in profile.facts:
            assert fact.basis in (CONFIRMED, INFERRED, CHOSEN) and fact.behaviour and fact.source
            assert set(re.findall(r"\bS\d+\b", fact.source)) <= known, fact.source


def test_the_page_shows_each_runtimes_own_behaviour():
    page = PAGE.read_text(encoding="utf-8")
    assert "| Python2.7, Python3.6 | a StreamHandler(sys.stdout)" in page
    assert "| Python3.7, Python3.9, Python3.10 | no handler, level WARNING" in page
    assert "| Python3.7, Python3.9, Python3.10 | /var/user:/opt" in page
