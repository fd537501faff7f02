"""Real Celery processes for integration tests: a worker and a beat started as subprocesses
(`celery -A config worker`, `celery -A config beat`) over Redis and the PostgreSQL test database
that pytest-django created, so a test sees what a deployment does: messages that cross a broker,
a schedule that fires on its own, a worker that can be killed.

How to use it (the `celery_processes` fixture in tests/integration/conftest.py gives one
`CeleryProcesses` a test; tests/integration/test_celery_audit.py uses all of it):

    pytestmark = [
        pytest.mark.postgres,
        pytest.mark.redis,
        pytest.mark.celery_worker,
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
    ]

    def test_beat_runs_it(celery_processes, world):
        case = file_case(world)  # committed (the test is transactional): the processes see it
        celery_processes.start_worker()
        celery_processes.start_beat(AUDIT_CHECKPOINT_SECONDS="1")  # the variable its schedule reads
        celery_processes.wait_for(lambda: AuditCheckpoint.objects.exists(), "a checkpoint")

    def test_a_worker_killed_mid_task(celery_processes, world):
        worker = celery_processes.start_worker()
        with transaction.atomic():
            ...  # select_for_update a row the task locks first
            task_id = celery_processes.send("casework.audit_checkpoint")
            celery_processes.wait_for(celery_processes.backends_waiting_for_a_lock, "the task to start")
            celery_processes.kill(worker)  # or os.kill(celery_processes.pool_pids(worker)[0], SIGKILL)
        fresh = celery_processes.start_worker()
        celery_processes.wait_for(lambda: f"[{task_id}] succeeded" in fresh.log(), "the task to run again")

- The markers skip the test where PostgreSQL or Redis is not configured and fail it under
  MINQING_REQUIRE_SERVICES=1 (CI); transactional, because a subprocess sees only committed rows.
- Every process has its own log file (`proc.log()`), shown when a wait times out.
- The processes share the test's database, broker, audit key and anchor file; each test has a
  queue of its own (`celery_processes.queue`, given to the processes as CELERY_TASK_DEFAULT_QUEUE,
  and used by `send`), so a message left behind by a killed worker never reaches another test.
- Beat starts with every schedule of the settings an hour long (nothing fires during a test)
  but those the test names; its schedule file is the test's own. A new periodic task's setting
  (its variable) is added to SCHEDULE_SETTINGS below.
- `send(name, ...)` publishes a task to the test's queue; `proc.pid` is a worker's main process,
  `pool_pids(proc)` its pool processes (the ones running tasks); `kill(proc)` SIGKILLs a process
  and its pool; `start_worker()` again starts a fresh one. `backends_waiting_for_a_lock()` lists
  the database sessions blocked on a row lock, which is how a test knows a task is running: it
  holds a lock the task needs (`select_for_update` in a transaction of its own) and waits until
  the task blocks on it.
- Redis hands out a message left unacknowledged by a killed worker again once its visibility
  timeout has passed, checked when a worker starts: `visibility_timeout` (seconds, for the
  workers started after it is set) is 30 here, so a test of that sets it shorter.
- Every wait has a timeout and every process is killed (its whole process group) when the test
  ends, whatever happened, with the database sessions they left; a hung worker fails a test, it
  cannot hang the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
# Beat's schedules, read by config/settings.py from these variables: an hour unless a test asks.
# A new periodic task's variable belongs here too, so that no other test's beat runs it.
SCHEDULE_SETTINGS = (
    "AUDIT_CHECKPOINT_SECONDS",
    "AUDIT_VERIFY_SECONDS",
    "MINQING_SLA_SWEEP_SECONDS",
    "MINQING_NOTIFY_DRAIN_SECONDS",
)
STARTUP_SECONDS = 30


@dataclass
class Process:
    """One celery subprocess, in a process group of its own, writing to its own log file."""

    role: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False  # by the test: its death is no failure

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class CeleryProcesses:
    """Starts, watches and kills the Celery processes of one test (see the module's docstring)."""

    root: Path
    broker_url: str
    visibility_timeout: int = 30
    queue: str = field(default_factory=lambda: f"minqing-test-{uuid.uuid4().hex[:12]}")
    processes: list[Process] = field(default_factory=list)

    # Environment -------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The subprocesses' environment: the test database, the broker, the test's audit key and
        anchor file, the test's queue, a var directory of the test's own, and `extra`."""
        db = connection.settings_dict
        if not db["ENGINE"].endswith("postgresql"):
            raise RuntimeError("the Celery harness needs PostgreSQL (mark the test `postgres`)")
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or ''}:{db['PORT'] or 5432}/{db['NAME']}",
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": self.broker_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "MINQING_VAR_DIR": str(self.root / "var"),
            # The same keys and anchor file as the test's own process (tests/conftest.py).
            "MINQING_AUDIT_KEYS": settings.AUDIT_KEYS,
            "MINQING_AUDIT_KEY_FILE": str(settings.AUDIT_KEY_FILE),
            "MINQING_AUDIT_ANCHOR_FILE": str(settings.AUDIT_ANCHOR_FILE),
            "AUDIT_CHECKPOINT_SETTLE_SECONDS": str(settings.AUDIT_CHECKPOINT_SETTLE_SECONDS),
            "AUDIT_VERIFY_FULL_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.update({name: "3600" for name in SCHEDULE_SETTINGS})
        env.update(extra)
        return env

    # Processes ---------------------------------------------------------------------------------

    def _start(self, role: str, args: list[str], env: dict[str, str], ready: str) -> Process:
        n = sum(1 for p in self.processes if p.role == role) + 1
        log_path = self.root / f"{role}-{n}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                [CELERY, "-A", "config", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole
            )
        process = Process(role=role, popen=popen, log_path=log_path)
        self.processes.append(process)
        self.wait_for(lambda: ready in process.log(), f"{role} {n} to start", timeout=STARTUP_SECONDS)
        return process

    def start_worker(self, *, concurrency: int = 1, **extra_env: str) -> Process:
        """A prefork worker on the test's queue, returned once it is ready to take tasks. Tasks
        run in its pool processes (`pool_pids`), as in production, so killing one is a worker lost
        mid-task; late acknowledgement and prefetch 1 are the settings' own."""
        n = sum(1 for p in self.processes if p.role == "worker") + 1
        args = ["worker", "--loglevel", "INFO", "--pool", "prefork", "--concurrency", str(concurrency)]
        args += ["--hostname", f"minqing-test-{n}-{self.queue}@%h", "-Q", self.queue]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        return self._start("worker", args, self.env(**extra_env), ready=" ready.")

    def start_beat(self, **schedule_env: str) -> Process:
        """A beat with a schedule file of the test's own; `schedule_env` sets the schedules to run
        (e.g. AUDIT_CHECKPOINT_SECONDS="1"), every other one is an hour long."""
        args = ["beat", "--loglevel", "INFO", "--schedule", str(self.root / "celerybeat-schedule")]
        args += ["--max-interval", "1"]
        return self._start("beat", args, self.env(**schedule_env), ready="beat: Starting...")

    def pool_pids(self, worker: Process) -> list[int]:
        """The worker's pool processes (its children in /proc), where its tasks run."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == worker.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def kill(self, process: Process, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the process and its pool (its whole group), and reap it."""
        process.killed = True
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.popen.wait(timeout=10)

    def stop(self) -> None:
        """Kill every process (the end of a test, whatever happened), then end the database
        sessions they left, which would block the test's flush and the test database's drop."""
        try:
            for process in self.processes:
                if process.alive() or _group_alive(process.pid):
                    self.kill(process)
                process.killed = True
        finally:
            try:
                self._end_orphan_sessions()
            finally:
                self._forget_queue()

    # Tasks and waiting -------------------------------------------------------------------------

    def send(self, name: str, *args, task_id: str | None = None, **kwargs) -> str:
        """Publish task `name` to the test's queue; returns its id."""
        from config.celery import app

        return app.send_task(name, args=args, kwargs=kwargs, queue=self.queue, task_id=task_id).id

    def wait_for(self, condition: Callable[[], object], what: str, *, timeout: float = 20) -> object:
        """Poll `condition` until it is true; fail, with every process's log, after `timeout`
        seconds or as soon as one of the processes has died without being killed by the test."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            dead = [p for p in self.processes if not p.killed and not p.alive()]
            if dead or time.monotonic() > deadline:
                reason = f"{dead[0].role} exited with {dead[0].popen.returncode}" if dead else f"{timeout} s passed"
                raise AssertionError(f"waiting for {what}: {reason}\n{self.logs()}")
            time.sleep(0.1)

    def logs(self) -> str:
        """Every process's log (its end), and what the database's sessions are doing."""
        logs = [f"--- {p.log_path.name} ---\n{p.log()[-6000:]}" for p in self.processes]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT pid, state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid"
            )
            logs.append("--- database sessions ---\n" + "\n".join(map(str, cursor.fetchall())))
        return "\n".join(logs)

    def backends_waiting_for_a_lock(self) -> list[int]:
        """The pids of the test database's sessions now waiting for a lock (other than the test's)."""
        with connection.cursor() as cursor:
            # Within a transaction (the test's, holding the lock) the view is read once, then kept.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' ORDER BY pid"
            )
            return [pid for (pid,) in cursor.fetchall()]

    # Clean-up ----------------------------------------------------------------------------------

    def _end_orphan_sessions(self) -> None:
        # A killed worker's session ends when PostgreSQL notices the closed socket; one waiting
        # for a lock notices only when it gets it. End them, and wait until they are gone.
        sql = "SELECT {} FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while True:
                cursor.execute(sql.format("pg_terminate_backend(pid)"))
                cursor.execute(sql.format("count(*)"))
                if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                    return
                time.sleep(0.1)

    def _forget_queue(self) -> None:
        # The test's queue, its bindings, and the messages a killed worker left unacknowledged.
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=5, socket_timeout=5)
        try:
            for key in [*client.scan_iter(f"{self.queue}*"), *client.scan_iter(f"_kombu.binding*.{self.queue}")]:
                client.delete(key)
            for tag, payload in client.hgetall("unacked").items():
                if json.loads(payload)[2] == self.queue:  # [message, exchange, routing key]
                    client.hdel("unacked", tag)
                    client.zrem("unacked_index", tag)
        finally:
            client.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
