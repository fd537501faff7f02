"""The day the member told the constituent the outcome (the feedback transition records it)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0017_assignment_reply_marks"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="feedback_told_on",
            field=models.DateField(blank=True, null=True, verbose_name="告知群众日期"),
        ),
    ]
