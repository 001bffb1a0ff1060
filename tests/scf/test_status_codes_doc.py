"""docs/status-codes.md lists every SCF status code scftest knows, with its status, so the
page for people who do not program cannot drift from scf/status.py."""

import re
from pathlib import Path

from scftest.scf.status import Code

DOC = Path(__file__).resolve().parents[2] / "docs" / "status-codes.md"


def test_the_page_lists_every_code_with_its_status():
    rows = re.findall(r"^\| (\d{3}) \| `(\w+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert [(int(number), status) for number, status in rows] == [
        (code.number, code.status.value) for code in sorted(Code, key=lambda c: c.number)]


def test_every_code_has_an_error_result_shape_on_the_page():
    text = DOC.read_text(encoding="utf-8")
    for code in Code:
        if code is not Code.SUCCESS:
            assert re.search(rf"^\| [\d, ]*{code.number}[\d, ]* \| ", text.split("## The error result")[1],
                             re.MULTILINE), code
