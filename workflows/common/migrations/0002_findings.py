from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('common', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FindingRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('record', fields.ForeignKeyField('common.ChecklistRecord', source_field='record_id', db_constraint=True, to_field='id', related_name='finding_rows', on_delete=OnDelete.RESTRICT)),
                ('subject_type', fields.CharField(max_length=32)),
                ('subject_id', fields.CharField(max_length=64)),
                ('subject_name', fields.CharField(default='', max_length=200)),
                ('scope_path', fields.CharField(max_length=255)),
                ('item', fields.CharField(max_length=64)),
                ('label', fields.CharField(max_length=300)),
                ('message', fields.CharField(max_length=1000)),
                ('legal_basis', fields.CharField(default='', max_length=200)),
                ('severity', fields.CharField(default='major', max_length=16)),
                ('value', fields.CharField(null=True, max_length=64)),
                ('corrective_action', fields.CharField(max_length=1000)),
                ('owner', fields.CharField(max_length=200)),
                ('due_date', fields.DateField()),
                ('status', fields.CharField(default='open', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.CharField(null=True, max_length=64)),
                ('closure_note', fields.TextField(null=True, unique=False)),
                ('evidence_attachment_id', fields.IntField(null=True)),
            ],
            options={'table': 'checklist_finding', 'app': 'common', 'indexes': [Index(fields=['scope_path', 'status', 'due_date']), Index(fields=['subject_type', 'subject_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
