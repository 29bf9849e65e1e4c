"""Readers and writers of the file formats XTREME-style tasks share: the public toolkit for task plugins.

Every reader takes the file's path and returns plain Python rows; a missing file raises ``DataMissing`` naming the
path (plus the task's ``how`` hint), a malformed one raises ``FormatError`` naming the path and the line.

- text: ``read_text`` (UTF-8, universal newlines), ``read_lines`` / ``read_bitext`` (line-aligned files);
- JSON Lines: ``read_jsonl`` / ``write_jsonl``;
- TSV: ``read_tsv`` (headerless; ``quoting=csv.QUOTE_MINIMAL`` for XTREME's csv.writer files), ``read_tsv_dicts``
  (header line), ``write_tsv`` (XTREME's layout: csv.writer, tab, CRLF);
- SQuAD JSON (v1.1/v2, TyDiQA-GoldP, MLQA): ``read_squad_json``, ``squad_from_hub``, ``write_squad``;
- CoNLL/IOB ``token<TAB>tag`` columns: ``read_conll``, ``write_conll``, ``tags_from_hub``; CoNLL-U: ``read_conllu``;
- finding data: ``first_existing`` and ``load_hub_or_folder`` (hub copy, else the first local layout found, else
  one ``DataMissing`` listing every file looked for).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.toolkit.data import DataMissing

__all__ = [
    "DataMissing", "FormatError", "first_existing", "load_hub_or_folder", "read_bitext", "read_conll",
    "read_conllu", "read_jsonl", "read_lines", "read_squad_json", "read_text", "read_tsv", "read_tsv_dicts",
    "squad_from_hub", "tags_from_hub", "write_conll", "write_jsonl", "write_squad", "write_tsv",
]


class FormatError(ValueError):
    """A data file is malformed; the message names the file, the line where there is one, and what was expected."""


# ---- text, lines, bitext -------------------------------------------------------------------------------------
def _require(path: Path | str, task: str = "", how: str = "") -> Path:
    path = Path(path)
    if not path.is_file():
        prefix = f"{task}: " if task else ""
        raise DataMissing(f"{prefix}data file {path} not found. {how}".strip())
    return path


def read_text(path: Path | str, task: str = "", how: str = "") -> str:
    """The whole file as UTF-8 text with ``\\r\\n``/``\\r`` turned into ``\\n`` (as ``Path.read_text`` does)."""
    path = _require(path, task, how)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FormatError(f"{path}:{line}: not UTF-8 (byte 0x{raw[e.start]:02x}); re-save the file as UTF-8") from None
    if text.startswith("\ufeff"):  # a byte-order mark (Excel, Notepad): not part of the first cell
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: Path | str, task: str = "", how: str = "") -> list[str]:
    """The lines of a text file, without their newline; blank lines kept, one final newline ignored."""
    lines = read_text(path, task, how).split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_bitext(source: Path | str, target: Path | str, task: str = "", how: str = "") -> list[tuple[str, str]]:
    """Line-aligned sentence pairs of two files (line *i* of ``source`` translates line *i* of ``target``)."""
    xs, ys = read_lines(source, task, how), read_lines(target, task, how)
    if len(xs) != len(ys):
        raise FormatError(f"{Path(source)} has {len(xs)} lines but {Path(target)} has {len(ys)}; "
                          "the files must be line-parallel")
    return list(zip(xs, ys))


# ---- JSON Lines ----------------------------------------------------------------------------------------------
def read_jsonl(path: Path | str, task: str = "", how: str = "") -> list[Any]:
    """One JSON value per non-blank line."""
    import jsonlines

    path = Path(path)
    lines = read_text(path, task, how).split("\n")
    out = []
    with jsonlines.Reader(lines) as reader:
        try:
            out = list(reader.iter(skip_empty=True))
        except jsonlines.InvalidLineError as e:
            raise FormatError(f"{path}:{e.lineno}: not a JSON value ({e}); one JSON object per line") from None
    return out


def write_jsonl(path: Path | str, rows: Iterable[Any]) -> None:
    """Rows as JSON Lines (UTF-8, non-ASCII kept), creating the folder."""
    import jsonlines

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh, jsonlines.Writer(
            fh, dumps=lambda obj: json.dumps(obj, ensure_ascii=False)) as writer:
        writer.write_all(rows)


# ---- TSV -----------------------------------------------------------------------------------------------------
def _tsv_rows(path: Path, task: str, how: str, quoting: int, columns: int | None) -> list[tuple[int, list[str]]]:
    """(line, cells) of every non-blank row. A quoted field never spans lines and a stray quote is never
    swallowed: either would silently merge or change examples, so both are errors naming the line."""
    reader = csv.reader(io.StringIO(read_text(path, task, how), newline=""), delimiter="\t", quoting=quoting,
                        strict=quoting != csv.QUOTE_NONE)
    rows = []
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise FormatError(f"{path}:{line}: a quoted field runs on to line {reader.line_num} and breaks there "
                              f"({err}): an unbalanced \"?") from None
        first, line = line, reader.line_num + 1
        if not row or not any(cell.strip() for cell in row):
            continue
        if reader.line_num != first:
            raise FormatError(f"{path}:{first}: a quoted field runs on to line {reader.line_num} (an unbalanced \"?); "
                              "XTREME's files hold one example per line")
        if columns is not None and len(row) < columns:
            raise FormatError(f"{path}:{first}: {len(row)} tab-separated columns, expected {columns}")
        rows.append((first, row))
    return rows


def read_tsv(path: Path | str, task: str = "", how: str = "", quoting: int = csv.QUOTE_NONE,
             columns: int | None = None) -> list[list[str]]:
    """Rows of a headerless TSV (blank rows skipped), CRLF and LF alike, a UTF-8 byte-order mark dropped.

    ``quoting=csv.QUOTE_MINIMAL`` reads XTREME's files (written by ``csv.writer``: a field holding ``"`` is quoted;
    a quoted field that runs over a line end, or a stray quote, is a ``FormatError`` naming the line); the default
    keeps quotes literal (GLUE). ``columns``: every row must have at least that many cells.
    """
    return [row for _, row in _tsv_rows(Path(path), task, how, quoting, columns)]


def read_tsv_dicts(path: Path | str, task: str = "", how: str = "", required: Sequence[str] = ()) -> list[dict[str, str]]:
    """Rows of a TSV with a header line (GLUE layout) as dicts; quotes are literal. ``required``: header names
    that must be present, and every row must have a cell for each of them (a short row is a ``FormatError``
    naming its line, never a ``KeyError`` later)."""
    path = Path(path)
    rows = _tsv_rows(path, task, how, csv.QUOTE_NONE, None)
    if not rows:
        return []
    hline, header = rows[0]
    absent = [c for c in required if c not in header]
    if absent:
        raise FormatError(f"{path}:{hline}: header lacks column(s) {', '.join(absent)} (has {', '.join(header)})")
    need = max((header.index(c) for c in required), default=-1) + 1
    out = []
    for line, r in rows[1:]:
        if len(r) < need:
            lost = [c for c in required if header.index(c) >= len(r)]
            raise FormatError(f"{path}:{line}: {len(r)} cells, no {', '.join(lost)} (the header has {len(header)} "
                              "columns; a missing tab or a tab inside a field?)")
        out.append(dict(zip(header, r)))
    return out


def write_tsv(path: Path | str, rows: Iterable[Sequence[Any]]) -> None:
    """Rows in XTREME's processed layout: ``csv.writer`` with tab delimiter (quoting fields that need it), CRLF."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter="\t").writerows(rows)


# ---- SQuAD JSON ----------------------------------------------------------------------------------------------
def _field(obj: Any, key: str, path: Path, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FormatError(f"{path}: {where} has no field {key!r} (SQuAD layout: "
                          "data[].paragraphs[].{context, qas[].{id, question, answers}})")
    return obj[key]


def read_squad_json(path: Path | str, language: str, task: str = "", how: str = "", blank_is_missing: bool = False,
                    id_prefix: str | None = None) -> list[dict]:
    """Questions of a SQuAD-layout JSON file (v1.1/v2, MLQA, TyDiQA-GoldP) in the ``span_qa`` layout
    ``{id, language, context, question, answers: {text: [...], answer_start: [...]} | None}``.

    v2's ``is_impossible`` questions get empty answers. ``blank_is_missing``: XTREME replaces the answers of files
    it treats as test by one ``{"answer_start": 0, "text": ""}``; such questions get ``answers=None``.
    ``id_prefix``: keep only questions whose id starts with it (TyDiQA's combined files). When a file repeats ids
    (XTREME's TyDiQA-GoldP train does), every id gets its question index appended (``id@index``).
    """
    path = Path(path)
    try:
        data = json.loads(read_text(path, task, how))
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}:{e.lineno}: not JSON ({e.msg})") from None
    articles = _field(data, "data", path, "the top level") if isinstance(data, dict) else data
    out = []
    for a, article in enumerate(articles):
        for p, para in enumerate(_field(article, "paragraphs", path, f"article {a}")):
            where = f"article {a}, paragraph {p}"
            context = _field(para, "context", path, where)
            for qa in _field(para, "qas", path, where):
                qid = str(_field(qa, "id", path, where + ", a question"))
                if id_prefix is not None and not qid.startswith(id_prefix):
                    continue
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                gold: dict | None = {"text": [x["text"] for x in answers],
                                     "answer_start": [int(x["answer_start"]) for x in answers]}
                if blank_is_missing and answers and all(x["text"] == "" for x in answers):
                    gold = None
                out.append({"id": qid, "language": language, "context": context,
                            "question": _field(qa, "question", path, f"{where}, question {qid!r}"), "answers": gold})
    if len({e["id"] for e in out}) != len(out):
        for i, e in enumerate(out):
            e["id"] = f"{e['id']}@{i}"
    return out


def squad_from_hub(rows: Iterable[dict], language: str) -> list[dict]:
    """Hub rows with ``id, context, question, answers{text, answer_start}`` in the ``span_qa`` layout."""
    return [{"id": str(r["id"]), "language": language, "context": r["context"], "question": r["question"],
             "answers": {"text": list(r["answers"]["text"]),
                         "answer_start": [int(s) for s in r["answers"]["answer_start"]]}} for r in rows]


def write_squad(path: Path | str, articles: list[dict], version: str = "1.1") -> None:
    """``{"data": articles, "version": version}`` as UTF-8 JSON, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": articles, "version": version}, ensure_ascii=False) + "\n", encoding="utf-8")


# ---- CoNLL columns and CoNLL-U -------------------------------------------------------------------------------
def read_conll(path: Path | str, language: str, split: str, task: str = "", how: str = "",
               strip_prefix: str | None = None, column: int = 1, labels: Collection[str] = ()) -> list[dict]:
    """Sentences of a ``token<TAB>tag`` file (blank line between sentences) as ``{id, language, tokens, tags}``.

    ``tags`` come from ``column``; a sentence whose lines lack it gets ``tags=None`` (XTREME strips test labels).
    ``strip_prefix``: removed from the start of each token (Rahimi's PAN-X files write ``de:token``).
    ``labels``: the task's tag set; a one-column file whose every cell is one of them is a tags-only file (the
    label files of XTREME's ``evaluate.py``): its cells are the ``tags`` and ``tokens`` are empty strings.
    Ids are ``{split}-{language}-{index}``.
    """
    sentences: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in read_text(path, task, how).split("\n"):
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        cells = line.split("\t")
        if strip_prefix and cells[0].startswith(strip_prefix):
            cells[0] = cells[0][len(strip_prefix):]
        current.append(cells)
    if current:
        sentences.append(current)
    out = []
    flat = [r for rows in sentences for r in rows]
    if labels and flat and all(len(r) == 1 and r[0].strip() in labels for r in flat):  # tags only
        return [{"id": f"{split}-{language}-{i}", "language": language, "tokens": [""] * len(rows),
                 "tags": [r[0].strip() for r in rows]} for i, rows in enumerate(sentences)]
    for i, rows in enumerate(sentences):
        labelled = all(len(r) > column for r in rows)
        out.append({"id": f"{split}-{language}-{i}", "language": language, "tokens": [r[0] for r in rows],
                    "tags": [r[column] for r in rows] if labelled else None})
    return out


def write_conll(path: Path | str, sentences: Iterable[Sequence[tuple[str, str]]], labelled: bool = True) -> None:
    """Sentences of ``(token, tag)`` pairs as ``token<TAB>tag`` lines (tokens only when not ``labelled``)."""
    lines = []
    for sent in sentences:
        lines.extend(f"{w}\t{t}" if labelled else w for w, t in sent)
        lines.append("")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tags_from_hub(rows: Any, field: str, language: str, split: str) -> list[dict]:
    """Hub rows with ``tokens`` and a class-label sequence ``field`` as ``{id, language, tokens, tags}``."""
    names = rows.features[field].feature.names
    return [{"id": f"{split}-{language}-{i}", "language": language, "tokens": list(r["tokens"]),
             "tags": [names[t] for t in r[field]]} for i, r in enumerate(rows)]


def read_conllu(paths: Sequence[Path | str], language: str, split: str, column: int = 3) -> list[dict]:
    """Sentences of CoNLL-U files, concatenated in the given order, as ``{id, language, tokens, tags}``.

    Comments, multiword-token ranges (``1-2``) and empty nodes (``8.1``) are skipped, so tokens are syntactic
    words; spaces and U+200C inside a form are removed (XTREME's preprocessing). ``column``: 3 = UPOS.
    """
    out = []
    for path in map(Path, paths):
        words: list[str] = []
        tags: list[str] = []
        for n, line in enumerate(read_text(path).split("\n") + [""], start=1):
            if not line.strip():
                if words:
                    out.append({"id": f"{split}-{language}-{len(out)}", "language": language, "tokens": words,
                                "tags": tags})
                words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise FormatError(f"{path}:{n}: line {line[:60]!r} has {len(cols)} columns, CoNLL-U has 10")
            if "-" in cols[0] or "." in cols[0]:
                continue
            words.append("".join(cols[1].replace("\u200c", "").split(" ")))
            tags.append(cols[column])
    return out


# ---- finding the data ----------------------------------------------------------------------------------------
def first_existing(*paths: Path | str) -> Path | None:
    """The first of ``paths`` that is a file, or None."""
    return next((Path(p) for p in paths if Path(p).is_file()), None)


Layout = tuple[Sequence[str], Callable[[Path], Any]]


def load_hub_or_folder(task: str, data_dir: Path | str | None, *, layouts: Sequence[Layout], how: str,
                       hub: Callable[[], Any] | None = None, what: str = "data file") -> Any:
    """The hub copy when ``data_dir`` is None, else the first local layout present, else one clear error.

    ``layouts``: ``(names, read)`` pairs tried in order; ``names`` are file paths relative to ``data_dir`` (the
    first that exists is passed to ``read``). ``hub``: called without arguments when there is no ``data_dir``
    (None: the task has no hub copy). The ``DataMissing`` names the folder, every file looked for and ``how``.
    """
    if data_dir is None:
        if hub is None:
            raise DataMissing(f"{task}: no data folder given and no hub copy is pinned. {how}".strip())
        return hub()
    d = Path(data_dir)
    for names, read in layouts:
        found = first_existing(*(d / n for n in names))
        if found is not None:
            return read(found)
    looked = ", ".join(n for names, _ in layouts for n in names)
    raise DataMissing(f"{task}: no {what} under {d} (looked for {looked}). {how}".strip())
