"""Writing many rows in one statement: the multi-row INSERT and the parameter budget a statement
may spend, for the paths that change many records at once (an output's event reaching every case
it gathered) and must cost the same number of statements for three records as for a thousand.

Django's `bulk_create` batches SQLite inserts by the old compile-time default of 999 parameters,
so a thousand rows of twenty columns would take fifty statements; here a batch is as large as the
connected database allows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import Any

from django.db import connection, connections, models
from django.db.models import Model
from django.db.models.expressions import RawSQL

# PostgreSQL's limit on the parameters of one statement when they are bound server-side; with
# client-side binding (Django's default) there is none, so this only bounds a batch's size.
POSTGRES_PARAMS = 65535


def param_limit() -> int:
    """How many parameters one statement may carry on the connected database."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return POSTGRES_PARAMS


def batches(rows: Sequence[Any], params_per_row: int) -> Iterator[Sequence[Any]]:
    """`rows` in runs small enough for one statement each (one run, unless they are huge)."""
    size = max(1, param_limit() // max(1, params_per_row))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# Fields whose value, when None or a plain int, str or bool, goes to the database as it is: the
# conversion `get_db_prep_save` makes of it is the identity, and skipping it halves the cost of
# preparing a thousand rows.
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)
_AS_IS = (int, str, bool, type(None))


def _prepared(fields: list[Any], objs: Sequence[Model], conn: Any) -> list[list[Any]]:
    """Each object's values as `save()` would send them (defaults, `pre_save`, the database's
    form), one list per object."""
    plain = [isinstance(f, _PLAIN) for f in fields]
    rows = []
    for obj in objs:
        row = []
        for f, is_plain in zip(fields, plain, strict=True):
            value = f.pre_save(obj, True)
            row.append(value if is_plain and type(value) in _AS_IS else f.get_db_prep_save(value, conn))
        rows.append(row)
    return rows


def insert(model: type[Model], objs: Sequence[Model], *, returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert `objs` (unsaved instances of `model`) in one statement, as `save()` would write
    each (fields' defaults and `pre_save`; no signals, and the instances are left unsaved).
    Answers the `returning` columns of the inserted rows, in no promised order: a caller
    matches them to its objects by a column it wrote (neither database promises that RETURNING
    follows the input's order).

    On PostgreSQL the rows go as one JSON document (`rows_json`) that the server turns into
    rows of the table's own column types (`json_populate_recordset`): one parameter for a
    thousand rows as for one. The driver binds parameters into the query text itself, in
    Python: tens of thousands of placeholders, or arrays of a thousand elements each quoted on
    its own, cost it more than the statement costs the server. Elsewhere (SQLite) as a
    multi-row VALUES, batched by the parameters the database allows one statement (one batch,
    unless the rows are very many)."""
    if not objs:
        return []
    conn = connections[connection.alias]  # not the proxy: it costs a lookup per attribute read
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(_q(f.column) for f in fields)
    tail = f" RETURNING {', '.join(_q(c) for c in returning)}" if returning else ""
    table = _q(model._meta.db_table)
    answered: list[tuple[Any, ...]] = []
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            names = [f.column for f in fields]
            document = rows_json([dict(zip(names, row, strict=True)) for row in _prepared(fields, objs, conn)])
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "
                f"FROM json_populate_recordset(NULL::{table}, %s::json){tail}",
                [document],
            )
            if returning:
                answered.extend(tuple(r) for r in cursor.fetchall())
            return answered
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for batch in batches(objs, len(fields)):
            params = [value for values in _prepared(fields, batch, conn) for value in values]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))}{tail}", params)
            if returning:
                answered.extend(tuple(r) for r in cursor.fetchall())
    return answered


def _json_value(value: Any) -> Any:
    """What a prepared value is in JSON: the driver's wrappers unwrapped, times in ISO 8601 with
    their offset (to the microsecond, as the column keeps them)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    obj = getattr(value, "obj", _NOTHING)  # psycopg's Jsonb wrapper
    if obj is not _NOTHING:
        return obj
    return str(value)


_NOTHING = object()


def rows_json(rows: list[dict[str, Any]]) -> str:
    """Rows of column values as one JSON document, for `json_populate_recordset` (PostgreSQL)."""
    return json.dumps(rows, ensure_ascii=False, default=_json_value)


def array(ids: Sequence[int]) -> str:
    """Ids as one PostgreSQL array literal (a single string to quote, not a list of a thousand)."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def one_of(ids: Sequence[int]) -> Any:
    """The right-hand side of an `__in` filter on many ids: on PostgreSQL one array parameter
    (`IN (SELECT unnest(%s))`), which the planner reads as the list it is, where a thousand
    literals cost the driver a scan and the planner a bad estimate (and, past its threshold, a
    JIT compilation); elsewhere the list itself."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (array(ids),))
    return list(ids)


def in_list(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`column IN (...)` for raw SQL, as `one_of` builds it for the ORM."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [array(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)
