"""Leaderboard rows as Parquet: one column per row key, typed as :data:`harness.core.rows.ROW_TYPES` says.

Scalars get their own Arrow type (``str`` → string, ``int`` → int64, ``float`` → float64, ``bool`` → bool,
``str_list`` → list<string>); nested values (``budget``, ``libraries``, ``intermediate_data``, ``depth``, …) are
JSON text in a string column whose field metadata says ``xlt_harness.type: json``, so they read back exactly (a
struct column would add every other row's keys as nulls). A column whose values do not fit its declared type (a
hand-edited row) is stored as JSON too, never coerced: reading the file gives back the rows that were written.
Every row key is a column (null where a row has no value, as :func:`harness.core.rows.upgrade_row` reads rows);
keys outside ``ROW_KEYS`` (``generation``, ``depth``, a published row's ``source``) are JSON columns where null
means the row lacks the key. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.core.rows import ROW_KEYS, ROW_TYPES, SCHEMA_VERSION, DamagedFile

TYPE_KEY = b"xlt_harness.type"  # field metadata: how a column's values are stored
FILE_KEY = b"xlt_harness"  # file metadata: what wrote the file
INT64 = 1 << 63


def _fits(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64
    if kind == "float":  # an integral value (``50``) is stored as 50.0: equal, and the column stays numeric
        return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)
                                            and abs(value) < 1 << 53)
    if kind == "str_list":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    return False


def column_kind(key: str, values: list[Any]) -> str:
    """The storage of one column: its declared type when every value fits it, else ``json``."""
    declared = ROW_TYPES.get(key, "json") if key in ROW_KEYS else "json"
    return declared if declared != "json" and all(_fits(declared, v) for v in values) else "json"


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
            "str_list": pa.list_(pa.string()), "json": pa.string()}[kind]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def rows_table(rows: list[dict[str, Any]]) -> Any:
    """A ``pyarrow.Table`` of ``rows``: every row key, then the other keys in the order rows first use them."""
    import pyarrow as pa

    keys = list(ROW_KEYS) + list(dict.fromkeys(k for r in rows for k in r if k not in ROW_KEYS))
    fields, arrays = [], []
    for key in keys:
        kind = column_kind(key, [r.get(key) for r in rows])
        if kind == "json" and key in ROW_KEYS:  # a row key: null and absent both read back as null
            values = [None if r.get(key) is None else _dumps(r[key]) for r in rows]
        elif kind == "json":  # any other key: null = the row lacks it; a null value is the text "null"
            values = [_dumps(r[key]) if key in r else None for r in rows]
        else:
            values = [float(v) if kind == "float" and v is not None else v for v in (r.get(key) for r in rows)]
        fields.append(pa.field(key, _arrow_type(kind), metadata={TYPE_KEY: kind.encode()}))
        arrays.append(pa.array(values, type=_arrow_type(kind)))
    meta = {FILE_KEY: _dumps({"content": "xlt-harness leaderboard rows", "schema_version": SCHEMA_VERSION})}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def write_parquet(path: Path | str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` to the Parquet file ``path`` via a temporary file and an atomic rename."""
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(rows_table(rows), tmp)
        os.replace(tmp, path)
    except BaseException:  # the old file stays whole and no temp file is left
        tmp.unlink(missing_ok=True)
        raise


def read_parquet(path: Path | str) -> list[dict[str, Any]]:
    """The rows of a Parquet leaderboard (written by :func:`write_parquet`, or any Parquet file of rows: columns
    without ``xlt_harness.type`` metadata are read as Arrow gives them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise DamagedFile(f"{path}: not a readable Parquet file ({err}); export it again with `harness leaderboard "
                          "export FILE --format parquet --out OUT.parquet`") from None
    columns = []
    for field in table.schema:
        kind = (field.metadata or {}).get(TYPE_KEY, b"").decode()
        raw = table.column(field.name).to_pylist()
        try:
            values = [None if v is None else json.loads(v) for v in raw] if kind == "json" else raw
        except json.JSONDecodeError as err:
            raise DamagedFile(f"{path}: column {field.name!r} holds a value that is not JSON ({err})") from None
        present = [v is not None for v in raw] if kind == "json" and field.name not in ROW_KEYS else None
        columns.append((field.name, present, values))
    rows: list[dict[str, Any]] = [{} for _ in range(table.num_rows)]
    for name, present, values in columns:
        for i, (row, value) in enumerate(zip(rows, values)):
            if present is None or present[i]:  # a key outside ROW_KEYS: a null cell = the row lacks it
                row[name] = value
    return rows
