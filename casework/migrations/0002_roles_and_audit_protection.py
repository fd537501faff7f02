"""Roles as Django groups (docs/domain.md §1), and append-only audit tables on PostgreSQL: the
application's database user can insert events but a trigger refuses every UPDATE and DELETE."""

from django.db import migrations

ROLES = [
    "member",
    "convener",
    "committee_staff",
    "committee_head",
    "proposal_office",
    "department_liaison",
    "leadership",
    "auditor",
    "security_admin",
    "sysadmin",
]

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION minqing_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (%% on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON casework_auditevent
    FOR EACH ROW EXECUTE FUNCTION minqing_audit_append_only();
CREATE TRIGGER auditcheckpoint_append_only BEFORE UPDATE OR DELETE ON casework_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION minqing_audit_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS auditevent_append_only ON casework_auditevent;
DROP TRIGGER IF EXISTS auditcheckpoint_append_only ON casework_auditcheckpoint;
DROP FUNCTION IF EXISTS minqing_audit_append_only();
"""


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


def protect_audit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def unprotect_audit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_roles, delete_roles),
        migrations.RunPython(protect_audit, unprotect_audit),
    ]
