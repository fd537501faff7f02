"""Keyed audit digests, stream heads on the records that own the streams, checkpoints whose
heads are rows, and the per-organisation-and-day system streams.

Existing events keep their unkeyed digests (key id empty); the first keyed checkpoint seals them
(see casework.services.audit_verify). The heads of existing streams are copied onto their
records here, from the events themselves."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max
from django.utils import timezone

HEAD_FROM_EVENTS = """
UPDATE {table} SET
    audit_seq = COALESCE((SELECT max(e.seq) FROM casework_auditevent e
                          WHERE e.stream = '{prefix}' || {table}.id), 0),
    audit_head = COALESCE((SELECT e.hash FROM casework_auditevent e
                           WHERE e.stream = '{prefix}' || {table}.id ORDER BY e.seq DESC LIMIT 1), '')
"""

PROTECT_HEADS_SQL = """
CREATE TRIGGER auditcheckpointhead_append_only BEFORE UPDATE OR DELETE ON casework_auditcheckpointhead
    FOR EACH ROW EXECUTE FUNCTION minqing_audit_append_only();
"""
UNPROTECT_HEADS_SQL = "DROP TRIGGER IF EXISTS auditcheckpointhead_append_only ON casework_auditcheckpointhead;"


def heads_onto_records(apps, schema_editor):
    schema_editor.execute(HEAD_FROM_EVENTS.format(table="casework_case", prefix="case:"))
    schema_editor.execute(HEAD_FROM_EVENTS.format(table="casework_output", prefix="output:"))
    AuditEvent = apps.get_model("casework", "AuditEvent")
    AuditStream = apps.get_model("casework", "AuditStream")
    others = (
        AuditEvent.objects.exclude(stream__startswith="case:")
        .exclude(stream__startswith="output:")
        .values("stream")
        .annotate(last=Max("seq"))
        .order_by("stream")
    )
    now = timezone.now()
    for row in others:
        head = AuditEvent.objects.get(stream=row["stream"], seq=row["last"]).hash
        AuditStream.objects.create(name=row["stream"], audit_seq=row["last"], audit_head=head, created_at=now)


def protect_heads(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROTECT_HEADS_SQL)


def unprotect_heads(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNPROTECT_HEADS_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0005_seed_working_day_calendar'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditcheckpoint',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=24, verbose_name='密钥标识'),
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='n_heads',
            field=models.PositiveIntegerField(default=0, verbose_name='链头数'),
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='next_key_id',
            field=models.CharField(blank=True, default='', max_length=24, verbose_name='下一密钥'),
        ),
        migrations.AddField(
            model_name='auditcheckpoint',
            name='resume_after',
            field=models.BigIntegerField(default=0, verbose_name='续检起点'),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=24, verbose_name='密钥标识'),
        ),
        migrations.AddField(
            model_name='case',
            name='audit_head',
            field=models.CharField(blank=True, default='', editable=False, max_length=64, verbose_name='审计链头摘要'),
        ),
        migrations.AddField(
            model_name='case',
            name='audit_seq',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='审计链序号'),
        ),
        migrations.AddField(
            model_name='output',
            name='audit_head',
            field=models.CharField(blank=True, default='', editable=False, max_length=64, verbose_name='审计链头摘要'),
        ),
        migrations.AddField(
            model_name='output',
            name='audit_seq',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='审计链序号'),
        ),
        migrations.AlterField(
            model_name='auditcheckpoint',
            name='algorithm',
            field=models.CharField(max_length=16, verbose_name='摘要算法'),
        ),
        migrations.AlterField(
            model_name='auditcheckpoint',
            name='heads',
            field=models.JSONField(blank=True, null=True, verbose_name='各链头（旧）'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='algorithm',
            field=models.CharField(max_length=16, verbose_name='摘要算法'),
        ),
        migrations.CreateModel(
            name='AuditStream',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('audit_seq', models.PositiveIntegerField(default=0, editable=False, verbose_name='审计链序号')),
                ('audit_head', models.CharField(blank=True, default='', editable=False, max_length=64, verbose_name='审计链头摘要')),
                ('name', models.CharField(max_length=40, unique=True, verbose_name='链')),
                ('day', models.DateField(blank=True, null=True, verbose_name='日期')),
                ('created_at', models.DateTimeField(verbose_name='创建时间')),
                ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='casework.organisation', verbose_name='所属组织')),
            ],
            options={
                'verbose_name': '审计链',
                'verbose_name_plural': '审计链',
            },
        ),
        migrations.CreateModel(
            name='AuditCheckpointHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stream', models.CharField(max_length=40, verbose_name='链')),
                ('seq', models.PositiveIntegerField(verbose_name='序号')),
                ('digest', models.CharField(max_length=64, verbose_name='摘要')),
                ('checkpoint', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='head_rows', to='casework.auditcheckpoint', verbose_name='检查点')),
            ],
            options={
                'verbose_name': '检查点链头',
                'verbose_name_plural': '检查点链头',
                'indexes': [models.Index(fields=['stream', 'checkpoint'], name='audit_head_stream_ckpt')],
                'constraints': [models.UniqueConstraint(fields=('checkpoint', 'stream'), name='audit_checkpoint_head_stream')],
            },
        ),
        migrations.RunPython(heads_onto_records, migrations.RunPython.noop),
        migrations.RunPython(protect_heads, unprotect_heads),
    ]
