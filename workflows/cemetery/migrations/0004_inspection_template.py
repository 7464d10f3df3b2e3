from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('cemetery', '0003_rectification_progress')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CemeteryInspection',
            name='template_id',
            field=fields.IntField(null=True),
        ),
    ]
