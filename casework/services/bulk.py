"""Writing many rows in one statement: the multi-row INSERT and the parameter budget a statement
may spend, for the paths that change many records at once (an output's event reaching every case
it gathered) and must cost the same number of statements for three records as for a thousand.

Django's `bulk_create` batches SQLite inserts by the old compile-time default of 999 parameters,
so a thousand rows of twenty columns would take fifty statements; here a batch is as large as the
connected database allows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

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


def insert(model: type[Model], objs: Sequence[Model], *, returning: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert `objs` (unsaved instances of `model`) with one multi-row INSERT per batch, as
    `save()` would write each (fields' defaults and `pre_save`; no signals, and the instances are
    left unsaved). Answers the `returning` columns of the inserted rows, in no promised order:
    a caller matches them to its objects by a column it wrote (neither database promises that
    RETURNING follows the VALUES)."""
    if not objs:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(_q(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {', '.join(_q(c) for c in returning)}" if returning else ""
    answered: list[tuple[Any, ...]] = []
    for batch in batches(objs, len(fields)):
        params: list[Any] = []
        for obj in batch:
            params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
        sql = f"INSERT INTO {_q(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(batch))}{tail}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if returning:
                answered.extend(tuple(r) for r in cursor.fetchall())
    return answered
