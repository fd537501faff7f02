"""Remembered answers to retried requests, for the API (which reaches the domain only through
this package): find a key's answer, record one in the transaction of the change it answers."""

from __future__ import annotations

from casework.services.idempotency import find, record

__all__ = ["find", "record"]
