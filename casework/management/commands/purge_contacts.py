from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.services.pii import purge_contacts


class Command(BaseCommand):
    help = (
        "匿名化超过保存期限的界别群众：清除姓名、电话、身份证号、住址和工作单位，移出联系名单，"
        "保留界别和案件以便统计。未设保存期限的，以最后一次反映问题（或登记）后 "
        "MINQING_CONTACT_RETENTION_DAYS 天为限；仍有未办结案件的不处理。每人记入审计记录。"
        "--dry-run 只统计不修改。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="只统计将被匿名化的人数，不修改")
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["dry_run"]:
            due = purge_contacts(dry_run=True)
            self.stdout.write(f"将匿名化 {due} 人（未修改）(would anonymise {due} contacts; nothing changed)")
            return
        done = purge_contacts(batch_size=options["batch_size"], progress=self.stdout.write)
        days = settings.CONTACT_RETENTION_DAYS
        self.stdout.write(f"已匿名化 {done} 人 (anonymised {done} contacts; default retention {days} days)")
