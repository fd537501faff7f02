"""bench/generate.py writes by hand (COPY) what the actions write when a case goes through the
flow. This checks it stays so: a small data set is generated into a database of its own, cases
are driven through `workflows.actions` down the same paths here, and the shape of what each
wrote per path (tests/bench/shapes.py: status, tasks and their links, the open task, clocks,
audit actions in order, per case and per output) must agree.

- every shape generate.py wrote must be one the actions write on that path (it writes nothing
  the application would not);
- every shape the actions write on a path, verdicts aside (met or missed is a matter of time),
  must be among those generate.py wrote (it leaves out no variant of a path);
- the generated data set passes its referential checks and `verify_chain()`."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection, transaction

from tests.bench.paths import OUTPUT_PATHS, Driver
from tests.bench.shapes import CaseShape, Row, outputs_of, read_cases, read_outputs
from tests.factories import make_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

BASE_DIR = Path(__file__).resolve().parents[2]
CASES = 800
SEED = 11


def _generated_url() -> str:
    """The database generate.py loads: the configured one's name with `_gen` appended, on the
    same server (minqing_data → minqing_data_gen). Never the test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/") + "_gen"
    return urlunsplit(parts._replace(path="/" + name))


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


Shapes = dict[str, list[CaseShape]]


@functools.cache
def _mix_names() -> tuple[str, ...]:
    """The paths of generate.py's MIX, read from the script itself."""
    spec = importlib.util.spec_from_file_location("bench_generate", BASE_DIR / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.MIX_NAMES)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shapes, dict[str, list[Row]], str]:
    import psycopg

    url = _generated_url()
    _ensure_database(url)
    paths_file = tmp_path_factory.mktemp("gen") / "paths.json"
    env = {**os.environ, "DATABASE_URL": url}
    run = subprocess.run(
        [
            sys.executable,
            str(BASE_DIR / "bench" / "generate.py"),
            *("--cases", str(CASES), "--workers", "1", "--chunk", str(CASES), "--seed", str(SEED)),
            *("--reset", "--force", "--verify-chain", "--paths", str(paths_file)),
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    path_of = {int(k): v for k, v in json.loads(paths_file.read_text()).items()}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        return (*_read(cur, path_of), run.stdout)


@pytest.fixture(scope="module")
def driven(django_db_setup, django_db_blocker) -> Iterator[tuple[Shapes, dict[str, list[Row]]]]:
    """The same paths through the actions, once for the module, rolled back afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            made = Driver(make_world()).run(list(_mix_names()))
            path_of = {case_id: path for path, ids in made.items() for case_id in ids}
            with connection.cursor() as cur:
                yield _read(cur, path_of)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _read(cur: object, path_of: dict[int, str]) -> tuple[Shapes, dict[str, list[Row]]]:
    shapes = read_cases(cur, list(path_of))
    by_path: Shapes = defaultdict(list)
    for case_id, shape in shapes.items():
        by_path[path_of[case_id]].append(shape)
    output_of = outputs_of(cur, list(path_of))
    outputs = read_outputs(cur, sorted(set(output_of.values())))
    output_path = {oid: path_of[cid] for cid, oid in output_of.items()}
    outputs_by_path: dict[str, list[Row]] = defaultdict(list)
    for oid, shape in outputs.items():
        outputs_by_path[output_path[oid]].append(shape)
    return by_path, outputs_by_path


def _show(shape: object) -> str:
    return json.dumps(shape.__dict__ if isinstance(shape, CaseShape) else shape, ensure_ascii=False, default=str)


def test_generated_data_passes_its_checks_and_the_chain_verifies(generated):
    out = generated[2]
    assert "referential checks: all passed" in out
    assert "audit chain: verified" in out


def test_every_path_was_generated(generated, driven):
    names = sorted(_mix_names())
    assert sorted(generated[0]) == names
    assert sorted(driven[0]) == names


def test_generate_writes_only_what_the_actions_write(generated, driven):
    wrong = []
    for path, shapes in generated[0].items():
        allowed = set(driven[0][path])
        for shape in set(shapes):
            if shape not in allowed:
                nearest = min(allowed, key=lambda a: len(_differences(a, shape)))
                wrong.append(f"{path}, where it differs from the nearest shape the actions write:")
                wrong += [
                    f"  {f}: generated {_show(g)}\n  {' ' * len(f)}  actions   {_show(a)}"
                    for f, g, a in _differences(shape, nearest)
                ]
    assert not wrong, "generate.py wrote rows the actions never write:\n" + "\n".join(wrong[:24])


def test_generate_leaves_out_no_shape_the_actions_write(generated, driven):
    missing = []
    for path, shapes in driven[0].items():
        made = {s.skeleton() for s in generated[0].get(path, [])}
        missing += [f"{path}: {_show(s)}" for s in {s.skeleton() for s in shapes} if s not in made]
    assert not missing, "the actions write shapes generate.py never did:\n" + "\n".join(missing[:6])


def test_outputs_have_the_shape_the_actions_give_them(generated, driven):
    for path in OUTPUT_PATHS:
        assert set(generated[1][path]) <= set(driven[1][path]), path
        assert set(generated[1][path]) == set(driven[1][path]), f"{path}: every group size generated"


def _differences(a: CaseShape, b: CaseShape) -> list[tuple[str, object, object]]:
    return [(f, getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__ if getattr(a, f) != getattr(b, f)]
