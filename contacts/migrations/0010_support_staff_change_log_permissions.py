"""The Support staff group (seed_demo's SUPPORT_PERMISSIONS) gains the change log's view and undo."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support staff"
GRANTED = ["undo_import", "view_contactchange"]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=SUPPORT_GROUP).first()
    if group is None:
        return  # seed_demo creates it with SUPPORT_PERMISSIONS, these included
    # Permissions are created after the migrations run (post_migrate); these two are needed now.
    app_config = apps.get_app_config("contacts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group.permissions.add(*Permission.objects.filter(content_type__app_label="contacts", codename__in=GRANTED))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=SUPPORT_GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="contacts", codename__in=GRANTED)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_change_log"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
