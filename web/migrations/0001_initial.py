from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='SavedFilter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=50)),
                ('owner', fields.CharField(null=True, max_length=64)),
                ('shared_org', fields.CharField(null=True, max_length=32)),
                ('params', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'saved_filter', 'app': 'webui', 'indexes': [Index(fields=['owner']), Index(fields=['shared_org'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
