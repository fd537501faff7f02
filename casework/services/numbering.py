"""Output numbers: one gapless series per term and session (proposals, speeches) or per year
(info reports' bulletin issues, research reports).

The next number is taken by one statement that creates or increments the series row and
answers the new value. The row stays locked until the taking transaction ends, so concurrent
submitters of one series queue on it, and a submission that rolls back gives its number back:
the numbers have no gaps and no repeats."""

from __future__ import annotations

from django.db import connection

from casework.models import OutputSeries


def take(series: str) -> int:
    """The next number of `series`, inside the caller's transaction."""
    table = connection.ops.quote_name(OutputSeries._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, last) VALUES (%s, 1) "
            f"ON CONFLICT (name) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [series],
        )
        return int(cursor.fetchone()[0])


def proposal_series(organisation_id: int, term_number: int | None, session_number: int | None, year: int) -> str:
    """A term and session's series; the submission year's when there is no session to number in."""
    if term_number is None or session_number is None:
        return f"proposal:{organisation_id}:{year}"
    return f"proposal:{organisation_id}:{term_number}:{session_number}"


def proposal_number(term_number: int | None, session_number: int | None, year: int, seq: int) -> str:
    """The number as it is printed, e.g. 提案 第15届第5次会议 第0123号 (or 提案 2026年 第0007号)."""
    if term_number is None or session_number is None:
        return f"提案 {year}年 第{seq:04d}号"
    return f"提案 第{term_number}届第{session_number}次会议 第{seq:04d}号"


def bulletin_series(organisation_id: int, year: int) -> str:
    return f"bulletin:{organisation_id}:{year}"


def bulletin_number(year: int, seq: int) -> str:
    return f"社情民意 {year}年第{seq}期"


def speech_series(organisation_id: int, term_number: int, session_number: int) -> str:
    return f"speech:{organisation_id}:{term_number}:{session_number}"


def speech_number(term_number: int, session_number: int, seq: int) -> str:
    return f"大会发言 第{term_number}届第{session_number}次会议 第{seq:03d}号"


def research_series(organisation_id: int, year: int) -> str:
    return f"research:{organisation_id}:{year}"


def research_number(year: int, seq: int) -> str:
    return f"调研报告 {year}年第{seq}号"
