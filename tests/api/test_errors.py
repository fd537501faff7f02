"""Database lock failures answer 409 in the one error shape, not 500."""

from __future__ import annotations

from django.db import OperationalError
from psycopg import errors as pg

from api.errors import exception_handler


def test_a_deadlock_the_database_broke_answers_409():
    try:
        try:
            raise pg.DeadlockDetected("deadlock detected")
        except pg.DeadlockDetected as cause:
            raise OperationalError("deadlock detected") from cause
    except OperationalError as exc:
        response = exception_handler(exc, {})
    assert response.status_code == 409
    assert response.data["error"]["code"] == "busy" and response.data["error"]["details"] == {"retry": True}


def test_other_database_errors_are_not_hidden():
    assert exception_handler(OperationalError("disk full"), {}) is None
