"""`manage.py seed_demo`: a believable demo committee (政协台州市黄岩区委员会) with about 60
members, their constituents and engagements, and about 300 cases in every stage and branch of
the case lifecycle (docs/domain.md §3).

Every case is driven through `workflows.actions`, each step naming the declared transition it
takes, so the viewflow tasks, the stage clocks and the audit chain are the real ones. The history
is spread over the past months: while seeding, the clock the domain reads
(`django.utils.timezone.now`) is set to each step's planned moment, so a case filed in spring was
decided in spring and its clocks and audit events say so.

The words and places are data (workflows/demo/huangyan.toml); the code is in
workflows/management/demo/ (world.py: organisations, people, engagements; plans.py: the cases;
steps.py: running them; clock.py: simulated time). The content is deterministic (fixed random
seed); only the passwords are random. The whole seed is one transaction, and a second run finds
the district organisation and does nothing."""

from __future__ import annotations

import os
import random
import time as walltime
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from casework.choices import CaseStatus, OutputType
from casework.models import Case, Organisation, Output
from casework.services.audit import audit_checkpoint
from workflows import actions

from ..demo import data
from ..demo.clock import SHANGHAI, Calendar, SimulatedNow
from ..demo.plans import Planner
from ..demo.steps import Runner
from ..demo.world import Accounts, Builder, World

SEED = 20231101  # the seed's opinion is from 2023; any fixed number would do
SETUP_AT = datetime(2021, 12, 28, 9, 30, tzinfo=SHANGHAI)  # accounts and rosters: the term's start
DEMO = data.load()
DISTRICT_NAME: str = DEMO.organisations["district"]
# This morning, before the demo is shown, a staff member of each of these committees takes the
# most urgent task of their queue.
CLAIM_NEXT_IN = ("sf", "jj")


class Command(BaseCommand):
    help = (
        "生成黄岩区政协演示数据：组织、届次、界别、专委会、约60名委员及其联系的界别群众、联系活动，"
        "以及约300件覆盖各环节、各分支的民情案件（全部经由工作流操作生成）。"
        "数据已存在时跳过；每个账号的随机密码只在首次生成时打印一次。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="演示数据已存在时静默跳过（供 make run 调用；不加此参数时行为相同）。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(name=DISTRICT_NAME).exists():
            self.stdout.write("演示数据已存在，跳过")
            return
        started = walltime.monotonic()
        rng = random.Random(SEED)
        real_now = timezone.now()
        # Password hashing is slow on purpose (PBKDF2): it runs on the spare cores meanwhile.
        hasher = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1))
        try:
            with transaction.atomic():
                with SimulatedNow(SETUP_AT) as clock:
                    accounts = Accounts(hasher, DEMO.people["superuser_role"])
                    builder = Builder(DEMO, rng, accounts, self.say)
                    world = builder.world()
                    builder.people(world)
                    builder.engagements(world, real_now.astimezone(SHANGHAI).date())
                    self._run_cases(world, builder, accounts, rng, clock, real_now)
                self.say(f"保存账号口令（{len(accounts.hashes)} 个）和接口令牌…")
                accounts.store()
                audit_checkpoint()
        finally:
            hasher.shutdown(wait=False, cancel_futures=True)
        self._report(world.org, accounts, walltime.monotonic() - started)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _run_cases(
        self,
        world: World,
        builder: Builder,
        accounts: Accounts,
        rng: random.Random,
        clock: SimulatedNow,
        real_now: datetime,
    ) -> None:
        cal = Calendar(random.Random(SEED + 1), cap=real_now - timedelta(minutes=30))
        planner = Planner(DEMO, world, builder, rng, cal)
        steps = planner.all()
        runner = Runner({u.pk: u for _r, u, _p in accounts.credentials})
        self.say(f"按时间顺序办理民情案件 {len(planner.plans)} 件（{len(steps)} 个操作）…")
        for done, step in enumerate(steps, 1):
            clock.at = step.at
            runner.run(step)
            if done % 500 == 0:
                self.say(f"  已完成 {done}/{len(steps)} 个操作")
        clock.at = cal.cap + timedelta(minutes=10)
        for code in CLAIM_NEXT_IN:
            actions.claim_next(committee_id=world.committees[code].pk, actor=world.staff[code][-1])
        clock.at = real_now

    def _report(self, org: Organisation, accounts: Accounts, seconds: float) -> None:
        counts = Counter(Case.objects.filter(organisation=org).values_list("status", flat=True))
        self.say(f"演示数据已生成，用时 {seconds:.1f} 秒。案件状态分布：")
        for status in CaseStatus:
            self.say(f"  {status.label}（{status.value}）：{counts.get(status.value, 0)}")
        outputs = Counter(Output.objects.filter(organisation=org).values_list("output_type", flat=True))
        self.say("成果：" + "，".join(f"{t.label} {outputs.get(t.value, 0)}" for t in OutputType))
        self.say("")
        self.say("账号和初始口令（只显示这一次，请妥善保存）：")
        width = max(len(u.username) for _r, u, _p in accounts.credentials)
        self.say(f"{'角色':　<12}{'用户名':<{width + 2}}{'姓名':　<8}口令")
        for label, user, password in accounts.credentials:
            self.say(f"{label:　<12}{user.username:<{width + 2}}{user.display_name:　<8}{password}")
