"""The message catalog's tools, standard library only (msgfmt and xgettext need not be
installed): read the ``.po``, compile it to the ``.mo`` gettext reads, and find every
message the code marks (``_("…")``, ``N_("…")``, ``ngettext("…", "…", n)``).

    python -m scftest.i18n_catalog            # compile every .po under scftest/locale/
    python -m scftest.i18n_catalog --check    # exit 1 when a committed .mo is stale
    python -m scftest.i18n_catalog --extract  # add the marked messages a .po lacks (empty, to translate)

tests/test_i18n.py compiles the ``.po`` in memory and compares it with the committed
``.mo``, and checks every marked message against the catalog.
"""

from __future__ import annotations

import argparse
import ast
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from scftest.errors import ScftestError

PACKAGE = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE / "locale"
MARKERS = ("_", "N_", "ngettext")
MO_MAGIC = 0x950412DE


@dataclass(frozen=True)
class Entry:
    """One message of a ``.po``: its English, its plural English, its translation(s)."""

    msgid: str
    msgid_plural: Optional[str] = None
    msgstr: Tuple[str, ...] = ("",)
    context: Optional[str] = None
    fuzzy: bool = False

    @property
    def key(self) -> Tuple[Optional[str], str]:
        return self.context, self.msgid

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr)


class CatalogError(ScftestError, ValueError):
    """A ``.po`` that cannot be read; the message names the file and line."""


# --------------------------------------------------------------------------- reading


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise CatalogError(f"{where}: expected a quoted string, found {text!r}")
    body, out, i = text[1:-1], [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            if body[i + 1] not in escapes:
                raise CatalogError(f"{where}: unknown escape \\{body[i + 1]}")
            out.append(escapes[body[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_po(text: str, name: str = "<po>") -> List[Entry]:
    """The entries of a ``.po`` file's text, the header (msgid "") included."""
    entries: List[Entry] = []
    fields: Dict[str, str] = {}
    last: Optional[str] = None
    fuzzy = False

    def flush() -> None:
        nonlocal fields, fuzzy, last
        if "msgid" in fields:
            forms = sorted((k for k in fields if k.startswith("msgstr[")), key=lambda k: int(k[7:-1]))
            msgstr = tuple(fields[k] for k in forms) if forms else (fields.get("msgstr", ""),)
            entries.append(Entry(fields["msgid"], fields.get("msgid_plural"), msgstr, fields.get("msgctxt"), fuzzy))
        elif fields:
            raise CatalogError(f"{name}: an entry without msgid before line {lineno}")
        fields, fuzzy, last = {}, False, None

    lineno = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{lineno}"
        if not line:
            flush()
        elif line.startswith("#"):
            if "msgid" in fields:
                flush()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if last is None:
                raise CatalogError(f"{where}: a continued string with nothing before it")
            fields[last] += _unquote(line, where)
        else:
            keyword, _, rest = line.partition(" ")
            if keyword not in ("msgctxt", "msgid", "msgid_plural", "msgstr") and not (
                    keyword.startswith("msgstr[") and keyword.endswith("]")):
                raise CatalogError(f"{where}: unknown keyword {keyword!r}")
            if keyword in ("msgctxt", "msgid") and "msgid" in fields and any(k.startswith("msgstr") for k in fields):
                flush()
            if keyword in fields:
                raise CatalogError(f"{where}: {keyword} twice in one entry")
            fields[keyword] = _unquote(rest, where)
            last = keyword
    lineno += 1
    flush()
    seen: Dict[Tuple[Optional[str], str], int] = {}
    for index, entry in enumerate(entries):
        if entry.key in seen:
            raise CatalogError(f"{name}: the message {entry.msgid!r} is in the catalog twice")
        seen[entry.key] = index
    return entries


def read_po(path: Path) -> List[Entry]:
    return parse_po(path.read_text(encoding="utf-8"), str(path))


# ------------------------------------------------------------------------- compiling


def compile_mo(entries: Iterable[Entry]) -> bytes:
    """The GNU ``.mo`` bytes of the translated entries (and the header), as msgfmt writes
    them without a hash table: keys sorted, so the output depends on the catalog only."""
    pairs: Dict[bytes, bytes] = {}
    for entry in entries:
        if entry.msgid and not entry.translated:
            continue  # untranslated or fuzzy: gettext falls back to the English
        key = entry.msgid if entry.msgid_plural is None else entry.msgid + "\0" + entry.msgid_plural
        if entry.context is not None:
            key = entry.context + "\x04" + key
        pairs[key.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(pairs)
    count = len(keys)
    originals_at = 28
    translations_at = originals_at + 8 * count
    data_at = translations_at + 8 * count
    table_o, table_t, data = [], [], b""
    for key in keys:
        table_o.append((len(key), data_at + len(data)))
        data += key + b"\0"
    for key in keys:
        value = pairs[key]
        table_t.append((len(value), data_at + len(data)))
        data += value + b"\0"
    head = struct.pack("<7I", MO_MAGIC, 0, count, originals_at, translations_at, 0, data_at)
    body = b"".join(struct.pack("<2I", *pair) for pair in table_o + table_t)
    return head + body + data


def catalogs(locale_dir: Path = LOCALE_DIR) -> List[Path]:
    """Every ``.po`` under the locale folder."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def mo_path(po: Path) -> Path:
    return po.with_suffix(".mo")


# ------------------------------------------------------------------------ extracting


@dataclass(frozen=True)
class Marked:
    """A message the code marks, where it is marked (the first place, for the report)."""

    msgid: str
    msgid_plural: Optional[str]
    place: str


def _marker_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def marked_in_source(source: str, name: str) -> List[Marked]:
    """The messages marked in one module's source, in order."""
    found: List[Marked] = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.Call) or _marker_name(node.func) not in MARKERS:
            continue
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        place = f"{name}:{node.lineno}"
        if _marker_name(node.func) == "ngettext" and len(texts) >= 2:
            found.append(Marked(texts[0], texts[1], place))
        elif _marker_name(node.func) != "ngettext" and len(texts) == 1 and len(node.args) == 1:
            found.append(Marked(texts[0], None, place))
    return sorted(found, key=lambda m: (m.place.rsplit(":", 1)[0], int(m.place.rsplit(":", 1)[1])))


def marked_messages(package: Path = PACKAGE) -> List[Marked]:
    """Every marked message under the package, each once (first place kept), plus the
    counted words of argparse that scftest's catalog provides."""
    from scftest.i18n import ARGPARSE_COUNTED
    from scftest.load.validate import hint_descriptions, load_schema

    seen: Dict[str, Marked] = {}
    for path in sorted(package.rglob("*.py")):
        if path.name == "_child.py":  # the handler's side: stdlib only, never translated
            continue
        name = str(path.relative_to(package.parent))
        for message in marked_in_source(path.read_text(encoding="utf-8"), name):
            seen.setdefault(message.msgid, message)
    for singular, plural in ARGPARSE_COUNTED:
        seen.setdefault(singular, Marked(singular, plural, "argparse"))
    for description in hint_descriptions(load_schema()):  # quoted as hints by load/validate.py
        seen.setdefault(description, Marked(description, None, "schemas/suite.schema.json"))
    return list(seen.values())


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def po_entry_text(message: Marked) -> str:
    """A new, untranslated entry for a ``.po``."""
    lines = [f"#: {message.place}", f"msgid {_quote(message.msgid)}"]
    if message.msgid_plural is not None:
        lines += [f"msgid_plural {_quote(message.msgid_plural)}", 'msgstr[0] ""']
    else:
        lines.append('msgstr ""')
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ the command


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scftest.i18n_catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed .mo differs from its .po")
    parser.add_argument("--extract", action="store_true",
                        help="append the marked messages a .po lacks, untranslated, then compile")
    args = parser.parse_args(argv)
    stale = 0
    for po in catalogs():
        try:
            entries = read_po(po)
        except CatalogError as exc:  # a broken .po is named with its line, not a traceback
            print(f"python -m scftest.i18n_catalog: {exc}", file=sys.stderr)
            return 2
        if args.extract:
            known = {entry.msgid for entry in entries}
            missing = [m for m in marked_messages() if m.msgid not in known]
            if missing:
                with po.open("a", encoding="utf-8") as out:
                    out.write("".join("\n" + po_entry_text(m) for m in missing))
                print(f"{po}: {len(missing)} new message(s) to translate")
                entries = read_po(po)
        compiled = compile_mo(entries)
        mo = mo_path(po)
        if args.check:
            if not mo.is_file() or mo.read_bytes() != compiled:
                print(f"{mo}: stale; run python -m scftest.i18n_catalog", file=sys.stderr)
                stale += 1
            continue
        mo.write_bytes(compiled)
        untranslated = sum(1 for e in entries if e.msgid and not e.translated)
        print(f"{mo}: {sum(1 for e in entries if e.msgid) - untranslated} message(s)"
              + (f", {untranslated} untranslated" if untranslated else ""))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
