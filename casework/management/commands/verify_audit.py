import json
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.models import AuditCheckpoint
from casework.services.audit_anchor import append_restore_marker
from casework.services.audit_verify import Report, verify_full, verify_incremental


class Command(BaseCommand):
    help = (
        "校验审计链。默认增量校验：从上次校验完好的检查点起，核对新的检查点、外部锚点和新事件；"
        "--full 逐条核对全部事件、各记录上的链头、检查点链及其记录的全部链头和外部锚点。"
        "发现异常时指出第一处，并以非零状态退出。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="全量校验 (walk everything)")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出结果，供监控使用 (JSON for monitoring)")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="全量校验时并行的进程数（PostgreSQL；默认为 CPU 数）(processes for --full)",
        )
        parser.add_argument(
            "--acknowledge-restore",
            metavar="REASON",
            help="数据库已从较早的备份恢复：确认后在锚文件中记下恢复点 (after restoring an older backup)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        show = not options["json"] and not options["no_progress"] and self.stderr.isatty()
        progress = self._progress if show else None
        if options["acknowledge_restore"]:
            report = self._acknowledge_restore(options["acknowledge_restore"])
        elif options["full"]:
            report = verify_full(progress=progress, workers=options["workers"])
        else:
            report = verify_incremental(progress=progress)
        if show:
            self.stderr.write("")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
        else:
            self._print(report)
        if not report.ok:
            raise CommandError(
                f"审计链校验失败 (audit chain broken): {len(report.breaks)} 处异常；第一处 (first): {report.breaks[0]}"
            )

    def _progress(self, done: int, total: int) -> None:
        share = min(1.0, done / total) if total else 1.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r  [{bar:<30}] {share:4.0%} {done:,} / {total:,} 条事件 (events)")
        sys.stderr.flush()

    def _print(self, report: Report) -> None:
        for warning in report.warnings[:20]:
            self.stderr.write(f"  注意 (warning): {warning}")
        for item in report.breaks[:20]:
            self.stderr.write(f"  {item}")
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"审计链完好 (audit chain intact; {report.mode}): {report.events} 条事件, {report.streams} 条链, "
                    f"{report.checkpoints} 个检查点, {report.anchors} 个外部锚点, {report.seconds:.2f} 秒"
                )
            )

    def _acknowledge_restore(self, reason: str) -> Report:
        report = verify_full(save_state=False)
        others = [b for b in report.breaks if b.kind != "anchor"]
        if others:
            self.stderr.write("数据库本身的审计链不完好，不能确认为恢复 (the database itself does not verify):")
            return report
        if report.ok:
            self.stdout.write("审计链与锚点一致，无需确认恢复 (nothing to acknowledge)")
            return report
        last = AuditCheckpoint.objects.exclude(key_id="").order_by("-seq").first()
        line = append_restore_marker(last, reason)
        self.stdout.write(f"已在锚文件中记下恢复点 (restore acknowledged): {line}")
        return verify_full()
