from typing import Any

from django.core.management.base import BaseCommand

from casework.services.audit import run_checkpoint


class Command(BaseCommand):
    help = (
        "生成审计检查点：记录自上次检查点以来有新事件的各审计链头，串入检查点链，并在提交后追加到外部锚点；"
        "同时补写锚文件缺少的检查点。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = run_checkpoint()
        if checkpoint is None:
            self.stdout.write("没有新的审计事件 (nothing new to checkpoint)")
        else:
            self.stdout.write(
                f"检查点 #{checkpoint.seq}: {checkpoint.n_heads} 条链, 截至事件 {checkpoint.last_event_id}, "
                f"密钥 {checkpoint.key_id} (checkpoint #{checkpoint.seq}: {checkpoint.n_heads} streams)"
            )
