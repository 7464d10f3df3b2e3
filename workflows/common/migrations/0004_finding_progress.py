from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('common', '0003_finding_owner_unit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FindingProgress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('finding', fields.ForeignKeyField('common.FindingRecord', source_field='finding_id', db_constraint=True, to_field='id', related_name='progress_rows', on_delete=OnDelete.RESTRICT)),
                ('note', fields.TextField(unique=False)),
                ('evidence_attachment_id', fields.IntField(null=True)),
                ('reported_by', fields.CharField(max_length=64)),
                ('reported_unit', fields.CharField(max_length=32)),
                ('reported_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'checklist_finding_progress', 'app': 'common', 'indexes': [Index(fields=['finding_id', 'reported_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
