import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="Node",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="Lower-case letters, digits and _; starts with a letter.",
                        max_length=24,
                        unique=True,
                        validators=[django.core.validators.RegexValidator("^[a-z][a-z0-9_]{0,23}$")],
                    ),
                ),
                ("site", models.CharField(blank=True, max_length=64)),
                ("samba_address", models.CharField(max_length=253)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
    ]
