"""`manage.py seed_demo`: a believable demo committee (政协台州市黄岩区委员会) with about 60
members, their constituents and engagements, and about 300 cases in every stage and branch of
the case lifecycle (docs/domain.md §3), gathered into outputs; the proposals go down their own
lifecycle to every status a proposal has (docs/domain.md §4).

Every case is driven through `workflows.actions`, each step naming the declared transition it
takes, so the viewflow tasks, the stage clocks and the audit chain are the real ones. The history
is spread over the past months: while seeding, the clock the domain reads
(`django.utils.timezone.now`) is set to each step's planned moment, so a case filed in spring was
decided in spring and its clocks and audit events say so.

The words and places are data (workflows/demo/huangyan.toml); the code is in
workflows/management/demo/ (world.py: organisations, people, engagements; plans.py: the cases;
steps.py: running them; clock.py: simulated time). The content is deterministic (fixed random
seed); only the passwords are random. The whole seed is one transaction, and a second run finds
the district organisation and does nothing.

It seeds only an empty database: the demo makes a superuser and about ninety accounts, and
DATABASE_URL may point at a real one. A database with accounts, organisations or cases of its
own is refused (`--force` overrides, for a developer's database). It prints one login per role,
once, the login names to try the proposals with (the office, each department's liaison, the
signers asked to rate), and a warning that these are demo accounts."""

from __future__ import annotations

import os
import random
import time as walltime
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from casework.choices import AssignmentStatus, CaseStatus, OutputStatus, OutputType, Role
from casework.models import Assignment, Case, Organisation, Output, OutputSigner, User
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
        "只导入空数据库：演示数据已存在时跳过，数据库中已有其他账号或组织时拒绝（--force 强制导入）。"
        "每个角色打印一个演示账号及其随机口令，只在首次生成时打印一次。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="供 make run 调用：演示数据已存在时静默跳过；数据库中已有其他数据时只提示、不导入，也不报错退出。",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="数据库中已有其他账号或组织时仍然导入演示数据（只用于开发环境，切勿用于生产数据库）。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(name=DISTRICT_NAME).exists():
            self.stdout.write("演示数据已存在，跳过")
            return
        found = foreign_data()
        if found and not options["force"]:
            # The demo makes a superuser and ~90 accounts with printed passwords: never into a
            # database that holds anything of someone else's (DATABASE_URL may point anywhere).
            what = "、".join(f"{n} 个{name}" for name, n in found.items())
            message = (
                f"数据库中已有非演示数据（{what}），演示数据只导入空数据库，未导入任何内容。"
                "请检查 DATABASE_URL 指向的数据库；确是开发用库并要导入，请运行 "
                "python manage.py seed_demo --force。"
            )
            if options["once"]:
                self.stderr.write(message)
                return
            raise CommandError(message)
        self.seed()

    def seed(self) -> None:
        """Build the whole demo in one transaction and print one login per role."""
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
        proposals = Counter(
            Output.objects.filter(organisation=org, output_type=OutputType.PROPOSAL).values_list("status", flat=True)
        )
        self.say("提案：" + "，".join(f"{s.label} {n}" for s in OutputStatus if (n := proposals.get(s.value, 0))))
        self.say("")
        # One login per role (the first account made for it): enough to try every part of the
        # app; the other accounts' random passwords are never shown (reset them in the admin).
        shown: dict[str, tuple[User, str]] = {}
        for label, user, password in accounts.credentials:
            shown.setdefault(label, (user, password))
        hidden = len(accounts.credentials) - len(shown)
        self.say(f"每个角色一个演示账号和口令（只显示这一次；其余 {hidden} 个账号的口令不显示）：")
        width = max(len(u.username) for u, _p in shown.values())
        self.say(f"{'角色':　<12}{'用户名':<{width + 2}}{'姓名':　<8}口令")
        for label, (user, password) in shown.items():
            self.say(f"{label:　<12}{user.username:<{width + 2}}{user.display_name:　<8}{password}")
        self.say("")
        self._proposal_logins(org)
        self.say("")
        self.say(
            "警告：以上是演示账号（含超级管理员），只可用于演示和开发。不要在生产环境使用演示数据；"
            "若演示环境可被他人访问，请立即在管理后台修改这些口令。"
        )

    def _proposal_logins(self, org: Organisation) -> None:
        """Whom to log in as to try the proposals: the proposal office, each department's liaison
        with what waits on it, and the signers asked to rate a reply. Names only: the passwords
        shown are those of the table above."""
        self.say("提案办理的演示账号（口令只显示上表中的；其余请在管理后台重置）：")
        office = User.objects.filter(organisation=org, groups__name=Role.PROPOSAL_OFFICE).order_by("id")
        self.say("  提案委员会：" + "、".join(u.username for u in office))
        handling = Assignment.objects.filter(
            organisation=org,
            round=F("output__round"),
            status__in=(AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED),
        )
        waiting = Counter(handling.values_list("department_id", flat=True))
        liaisons = (
            User.objects.filter(organisation=org, groups__name=Role.DEPARTMENT_LIAISON)
            .select_related("department")
            .order_by("id")
        )
        for user in liaisons:
            assert user.department is not None
            n = waiting.get(user.department_id, 0)
            self.say(f"  承办单位联络员：{user.username}（{user.department.name}，待办理 {n} 件）")
        asked = [
            signer.user.username
            for signer in OutputSigner.objects.filter(output__organisation=org, output__status=OutputStatus.REPLIED)
            .select_related("user", "output")
            .order_by("user_id")
            if not signer.ratings.filter(round=signer.output.round).exists()
        ]
        self.say("  待评价答复的署名委员：" + ("、".join(dict.fromkeys(asked)) or "无"))


def foreign_data() -> dict[str, int]:
    """What the database holds that the demo did not make: accounts, organisations, cases. The
    migrations' own rows (roles, the calendar, the default clock policies) do not count."""
    counts = {"账号": User.objects.count(), "组织": Organisation.objects.count(), "案件": Case.objects.count()}
    return {name: n for name, n in counts.items() if n}
