from typing import Any

from django.core.management.base import BaseCommand

from casework.services.audit import audit_checkpoint


class Command(BaseCommand):
    help = "生成审计检查点：把自上次检查点以来有新事件的各审计链头串入全局链。"

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = audit_checkpoint()
        if checkpoint is None:
            self.stdout.write("没有新的审计事件 (nothing new to checkpoint)")
        else:
            self.stdout.write(
                f"检查点 #{checkpoint.seq}: {len(checkpoint.heads)} 条链, 截至事件 {checkpoint.last_event_id}"
            )
