from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from casework.models import Organisation
from casework.services import dashboard_rollup


class Command(BaseCommand):
    help = (
        "重建领导驾驶舱的月度汇总（各组织截至此刻的按月数据），与定时任务 casework.dashboard_rollup 相同；"
        "可指定 --organisation。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", type=int, help="只重建这个组织（id）")

    def handle(self, *args: Any, **options: Any) -> None:
        orgs = Organisation.objects.order_by("pk")
        if options["organisation"] is not None:
            orgs = orgs.filter(pk=options["organisation"])
        for org in orgs:
            state = dashboard_rollup.refresh(org.pk)
            self.stdout.write(
                f"{org.name}: {state.rows} 行，截至 {state.cutoff:%Y-%m-%d %H:%M:%S}，用时 {state.took_ms} ms "
                f"({state.rows} rows, up to {state.cutoff:%Y-%m-%d %H:%M:%S}, {state.took_ms} ms)"
            )
