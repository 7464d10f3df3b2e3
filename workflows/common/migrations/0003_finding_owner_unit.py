from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('common', '0002_findings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FindingRecord',
            name='owner_unit_code',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='FindingRecord',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FindingRecord',
            name='updated_by',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
