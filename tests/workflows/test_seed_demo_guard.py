"""`seed_demo` seeds only an empty database. It makes a superuser and about ninety accounts
with printed passwords; before, it seeded whatever DATABASE_URL pointed at. (The seeding itself
is tested in test_seed_demo.py; here it is replaced by a recorder, the guard is what is tested.)"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from casework.choices import Role
from casework.models import Organisation, User
from tests.factories import make_user
from workflows.management.commands.seed_demo import Command


@pytest.fixture
def seeds(monkeypatch):
    done: list[bool] = []
    monkeypatch.setattr(Command, "seed", lambda self: done.append(True))
    return done


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_an_empty_database_is_seeded_as_make_run_does_on_a_fresh_machine(seeds):
    # The migrations' own rows (roles, the calendar, the clock policies) are no one's data.
    assert not User.objects.exists() and not Organisation.objects.exists()
    run("--once")
    assert seeds == [True]


@pytest.mark.django_db
def test_a_database_with_data_of_its_own_is_refused_unless_forced(seeds):
    make_user(None, Role.SYSADMIN, "运维")
    with pytest.raises(CommandError, match="数据库中已有非演示数据（1 个账号）") as refused:
        run()
    assert "--force" in str(refused.value) and "DATABASE_URL" in str(refused.value)
    # make run: said on stderr, nothing seeded, and the server still starts.
    out, err = run("--once")
    assert "数据库中已有非演示数据" in err and not out
    assert seeds == []
    Organisation.objects.create(name="某市政协", level="city")
    with pytest.raises(CommandError, match="1 个账号、1 个组织"):
        run()
    assert seeds == []
    run("--force")
    assert seeds == [True]
