"""The case flow moved from workflows/flows.py to workflows/engine/flows.py. viewflow stores the
flow class and each task's node by that path, so the stored references move with it."""

from django.db import migrations

OLD = "workflows/flows.CaseFlow"
NEW = "workflows/engine.flows.CaseFlow"


def _rewrite(old: str, new: str) -> list[migrations.RunSQL]:
    return [
        migrations.RunSQL(
            f"UPDATE viewflow_process SET flow_class = '{new}' WHERE flow_class = '{old}'",
            f"UPDATE viewflow_process SET flow_class = '{old}' WHERE flow_class = '{new}'",
        ),
        migrations.RunSQL(
            f"UPDATE viewflow_task SET flow_task = replace(flow_task, '{old}.', '{new}.') "
            f"WHERE flow_task LIKE '{old}.%%'",
            f"UPDATE viewflow_task SET flow_task = replace(flow_task, '{new}.', '{old}.') "
            f"WHERE flow_task LIKE '{new}.%%'",
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial"), ("viewflow", "0015_task_scheduled")]

    operations = _rewrite(OLD, NEW)
