"""Remembered answers to retried requests, for the API (which reaches the domain only through
this package): find a key's answer, record one in the transaction of the change it answers."""

from __future__ import annotations

from casework.services.idempotency import answer, find, take

__all__ = ["answer", "find", "take"]
