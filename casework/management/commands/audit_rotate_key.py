from typing import Any

from django.core.management.base import BaseCommand, CommandError

from casework.services.audit import run_checkpoint
from casework.services.audit_crypto import AuditKeyError, add_key, key_file


class Command(BaseCommand):
    help = (
        "轮换审计密钥：在密钥文件末尾追加新密钥（此后的事件用它签名，旧密钥保留用于校验），"
        "并立即生成一个由旧密钥签名、指明新密钥的检查点。之后请重新备份密钥文件。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = add_key()
        except AuditKeyError as error:
            raise CommandError(f"无法轮换审计密钥 (cannot rotate the audit key): {error}") from None
        checkpoint = run_checkpoint()
        self.stdout.write(f"新的审计密钥 (new audit key): {key.id} → {key_file()}")
        if checkpoint is not None and checkpoint.next_key_id == key.id:
            self.stdout.write(f"检查点 #{checkpoint.seq} 已交接到新密钥 (checkpoint chain handed over)")
        self.stdout.write(
            self.style.WARNING("请立即重新备份密钥文件，并与数据库备份分开保存 (back up the key file again, apart)")
        )
