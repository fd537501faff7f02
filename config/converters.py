"""Path converters. An id in a URL is 1 to 18 digits: a longer number is no record of ours and
answers 404 before it reaches a database that could not hold it."""

from __future__ import annotations


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
