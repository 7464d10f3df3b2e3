from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('cemetery', '0002_inspection_photo')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Rectification',
            name='evidence',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Rectification',
            name='progress',
            field=fields.CharField(null=True, max_length=1000),
        ),
        ops.AddField(
            model_name='Rectification',
            name='progress_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Rectification',
            name='progress_by',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Rectification',
            name='reported_done_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
