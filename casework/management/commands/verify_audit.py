from typing import Any

from django.core.management.base import BaseCommand, CommandError

from casework.models import AuditCheckpoint, AuditEvent
from casework.services.audit import verify_chain


class Command(BaseCommand):
    help = "校验审计链：逐条核对每条审计链与检查点链，指出第一处被篡改的事件。"

    def handle(self, *args: Any, **options: Any) -> None:
        events = AuditEvent.objects.count()
        checkpoints = AuditCheckpoint.objects.count()
        breaks = verify_chain()
        if breaks:
            first = breaks[0]
            for item in breaks[:20]:
                self.stderr.write(f"  {item}")
            raise CommandError(f"审计链校验失败 (audit chain broken): {len(breaks)} 处异常；第一处 (first): {first}")
        self.stdout.write(
            self.style.SUCCESS(f"审计链完好 (audit chain intact): {events} 条事件, {checkpoints} 个检查点")
        )
