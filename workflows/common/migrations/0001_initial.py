from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ChecklistTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(max_length=64)),
                ('version', fields.IntField()),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.CharField(default='system', max_length=64)),
            ],
            options={'table': 'checklist_template', 'app': 'common', 'unique_together': (('code', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChecklistRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('template', fields.ForeignKeyField('common.ChecklistTemplate', source_field='template_id', db_constraint=True, to_field='id', related_name='records', on_delete=OnDelete.RESTRICT)),
                ('subject_type', fields.CharField(max_length=32)),
                ('subject_id', fields.CharField(max_length=64)),
                ('instance_id', fields.CharField(null=True, max_length=36)),
                ('inspector', fields.CharField(max_length=64)),
                ('answers', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('findings', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('passed', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'checklist_record', 'app': 'common', 'indexes': [Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DrawRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('purpose', fields.CharField(max_length=64)),
                ('scope', fields.CharField(max_length=64)),
                ('seed', fields.CharField(max_length=64)),
                ('population_hash', fields.CharField(max_length=64)),
                ('population', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('ratio', fields.FloatField()),
                ('k', fields.IntField()),
                ('selected', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('drawn_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('drawn_by', fields.CharField(max_length=64)),
            ],
            options={'table': 'draw_record', 'app': 'common', 'indexes': [Index(fields=['purpose', 'scope'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
