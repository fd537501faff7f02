from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.pii import PiiKeyError, add_key, key_file, keyring
from casework.services.pii import reseal_all


class Command(BaseCommand):
    help = (
        "轮换个人信息密钥：用最新的密钥重新加密所有旧密钥加密的个人信息（分批进行，可中断后重跑）。"
        "--new-key 先在密钥文件末尾追加新密钥。全部完成后旧密钥才可删除。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key", action="store_true", help="先追加一个新密钥（仅限密钥文件）")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            if options["new_key"]:
                key = add_key()
                self.stdout.write(f"新的个人信息密钥 (new personal-data key): {key.id} → {key_file()}")
            current = keyring().current.id
        except PiiKeyError as error:
            raise CommandError(f"无法轮换个人信息密钥 (cannot rotate the personal-data key): {error}") from None
        changed = reseal_all(batch_size=options["batch_size"], progress=self.stdout.write)
        self.stdout.write(f"已用密钥 {current} 重新加密 {changed} 条记录 (rows re-encrypted under {current})")
