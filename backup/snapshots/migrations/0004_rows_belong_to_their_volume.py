"""Snapshot and SnapshotSpace rows belong to a volume: a foreign key on the
same ``account`` column (deleted with the volume) instead of a text field
the volumes app cleared by hand."""

import django.db.models.deletion
from django.db import migrations, models


def drop_rows_of_no_volume(apps, schema_editor):
    """Rows of an account with no volume (left by a destruction before this
    key existed) can't meet the key: their volume is gone, and so are they."""
    Volume = apps.get_model("volumes", "Volume")
    accounts = Volume.objects.values("account")
    for name in ("Snapshot", "SnapshotSpace"):
        apps.get_model("snapshots", name).objects.exclude(account__in=accounts).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0003_changes_measured_and_dismissal"),
        ("volumes", "0002_deferred_deletion"),
    ]

    operations = [
        migrations.RunPython(drop_rows_of_no_volume, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="snapshot", name="one_row_per_snapshot"),
        migrations.RemoveIndex(model_name="snapshot", name="snapshots_s_account_72b4af_idx"),
        migrations.RenameField(model_name="snapshot", old_name="account", new_name="volume"),
        migrations.RenameField(model_name="snapshotspace", old_name="account", new_name="volume"),
        migrations.AlterField(
            model_name="snapshot",
            name="volume",
            field=models.ForeignKey(
                db_column="account",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="snapshots",
                to="volumes.volume",
                to_field="account",
            ),
        ),
        migrations.AlterField(
            model_name="snapshotspace",
            name="volume",
            field=models.OneToOneField(
                db_column="account",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="snapshot_space",
                to="volumes.volume",
                to_field="account",
            ),
        ),
        migrations.AddIndex(
            model_name="snapshot",
            index=models.Index(
                fields=["volume", "taken_at"], name="snapshots_s_account_72b4af_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="snapshot",
            constraint=models.UniqueConstraint(
                fields=("volume", "name"), name="one_row_per_snapshot"
            ),
        ),
        migrations.AlterModelOptions(name="snapshot", options={"ordering": ["volume_id", "taken_at"]}),
    ]
