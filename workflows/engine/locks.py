"""The flow lock: viewflow's select-for-update lock, made safe inside a caller's transaction."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, transaction
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.lock import SelectForUpdateLock


class NestableSelectForUpdateLock(SelectForUpdateLock):
    """A row lock on the process (NOWAIT, retried with back-off), as viewflow's
    `select_for_update_lock`. viewflow catches the NOWAIT failure inside its atomic block; nested
    in a caller's transaction, as every action here is, that leaves the whole transaction
    aborted on PostgreSQL. Here each attempt runs in its own savepoint, so a failed attempt rolls
    back only itself."""

    @contextmanager
    def __call__(self, flow_class: Any, process_pk: int) -> Iterator[None]:
        with transaction.atomic():
            for attempt in range(self.attempts):
                try:
                    with transaction.atomic():
                        flow_class.process_class._default_manager.filter(pk=process_pk).select_for_update(
                            nowait=self.nowait
                        ).exists()
                    break
                except DatabaseError:
                    if attempt == self.attempts - 1:
                        raise FlowLockFailed(f"Lock failed for {flow_class}") from None
                    time.sleep(((attempt + 1) * random.random() + 2**attempt) / 2.5)
            yield


select_for_update_lock = NestableSelectForUpdateLock()
