"""What decrypting personal data adds to the case detail, on PostgreSQL.

Usage (from the project root; the database is dropped and created afresh, so its name must end
in ``_bench``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_pii_bench .venv/bin/python bench/pii_case_detail.py

It migrates the database, makes one committee with a member whose roster holds five
constituents, each with a phone number, an ID number and an address (all encrypted), and files
``--cases`` cases naming all five (the most a case names). Then it builds the case detail as
the API answers it (``api.views.case_read``: the case, its clocks, task and transitions, the
serializer; the member sees the names and masked phones) for every case, ``--rounds`` times,
alternating two variants round by round:

- encrypted: as deployed, each contact's phone decrypted (SM4-GCM or AES-256-GCM) and masked;
- baseline: the same, with the field's decryption replaced by handing back the stored text.

It prints the median time of a case detail in each variant, the difference in per cent (the
target: at most 15 %), and the cost of one decryption alone. The HTTP stack (7.6–8.5 ms a request
on the benchmark machine) is left out, which makes the per cent larger, not smaller.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def fresh_database(url: str) -> None:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    if not db["NAME"].endswith("_bench"):
        sys.exit(f"refusing to drop {db['NAME']!r}: the benchmark's database name must end in _bench")
    admin = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER'] or 'postgres'} dbname=postgres"
    )
    if db.get("PASSWORD"):
        admin += f" password={db['PASSWORD']}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://…/<name>_bench")
    fresh_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from api.views import case_read
    from casework import pii
    from casework.models import CalendarYear, Contact, RosterEntry
    from tests.factories import make_world
    from tests.helpers import file

    call_command("migrate", verbosity=0)
    for year in (timezone.localdate().year, timezone.localdate().year + 1):
        CalendarYear.objects.get_or_create(year=year, defaults={"source": "bench: weekends only"})
    world = make_world()
    member = world.member
    for i in range(2):  # five on the roster
        contact = Contact.objects.create(organisation=world.org, sector=world.sector, name=f"群众{i + 4}")
        RosterEntry.objects.create(organisation=world.org, sector=world.sector, member=member, contact=contact)
    for n, contact in enumerate(Contact.objects.filter(roster__member=member)):
        contact.phone = f"1381234{n:04d}"
        contact.id_number = f"33100319800101{n:03d}X"
        contact.address = f"浙江省台州市黄岩区东城街道劳动北路 {n + 1} 号"
        contact.save()
    contact_ids = list(Contact.objects.filter(roster__member=member).values_list("pk", flat=True))
    user = member.user
    case_ids = [
        file(
            user,
            title=f"测试案件{i}",
            description="每天放学时段南城实小门口拥堵半小时。",
            category=world.category.pk,
            township=world.township.pk,
            contacts=contact_ids,
            consent_to_share=True,
        ).pk
        for i in range(args.cases)
    ]
    body, _ = case_read(user, case_ids[0])
    assert [c["phone"] for c in body["contacts"]][0].startswith("138****"), body["contacts"]

    real = pii.EncryptedTextField.from_db_value

    def plain(self, value, expression, conn):  # type: ignore[no-untyped-def]
        return value

    def one_round() -> list[float]:
        times = []
        for case_id in case_ids:
            start = time.perf_counter()
            case_read(user, case_id)
            times.append(time.perf_counter() - start)
        return times

    calls = 0

    def counting(self, value, expression, conn):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real(self, value, expression, conn)

    pii.EncryptedTextField.from_db_value = counting  # type: ignore[method-assign]
    case_read(user, case_ids[0])
    pii.EncryptedTextField.from_db_value = real  # type: ignore[method-assign]

    for _ in range(2):  # warm both paths
        one_round()
    encrypted: list[float] = []
    baseline: list[float] = []
    for i in range(args.rounds):
        for variant in ("enc", "base") if i % 2 == 0 else ("base", "enc"):
            pii.EncryptedTextField.from_db_value = real if variant == "enc" else plain  # type: ignore[method-assign]
            (encrypted if variant == "enc" else baseline).extend(one_round())
    pii.EncryptedTextField.from_db_value = real  # type: ignore[method-assign]

    sealed = pii.seal("13812345678", "casework.Contact.phone")
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        pii.unseal(sealed, "casework.Contact.phone")
    per_unseal = (time.perf_counter() - start) / n

    enc, base = statistics.median(encrypted), statistics.median(baseline)
    print(f"PostgreSQL {connection.pg_version}, cipher {'SM4-GCM' if pii.CIPHER == 's' else 'AES-256-GCM'}")
    print(f"case detail (in process, 5 contacts, {args.cases} cases x {args.rounds} rounds each variant)")
    print(f"  encrypted: median {enc * 1000:.3f} ms")
    print(f"  baseline (no decryption): median {base * 1000:.3f} ms")
    print(f"  added by decryption: {(enc - base) / base * 100:+.1f} % (target <= 15 %)")
    print(f"encrypted values read per case detail: {calls}")
    print(f"one decryption of a phone: {per_unseal * 1e6:.1f} us")


if __name__ == "__main__":
    main()
