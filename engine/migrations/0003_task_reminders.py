from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('engine', '0002_collaboration')]

    initial = False

    operations = [
        ops.AddField(
            model_name='HumanTask',
            name='announced_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='HumanTask',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='HumanTask',
            index=Index(fields=['announced_at']),
        ),
        ops.AddField(
            model_name='User',
            name='email_arrivals',
            field=fields.BooleanField(default=True),
        ),
        # Tasks open before this migration already reached their queues: do not announce them all at once.
        ops.RunSQL("UPDATE human_task SET announced_at = created_at WHERE announced_at IS NULL",
                   reverse_sql="SELECT 1"),
    ]
