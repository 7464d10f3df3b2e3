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
            name='Cemetery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('cemetery_type', fields.CharField(max_length=16)),
                ('area_kind', fields.CharField(max_length=8)),
                ('county_code', fields.CharField(max_length=32)),
                ('township_code', fields.CharField(max_length=32)),
                ('org_path', fields.CharField(max_length=255)),
                ('operator', fields.CharField(max_length=100)),
                ('area_m2', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('plots_single', fields.IntField(default=0)),
                ('plots_double', fields.IntField(default=0)),
                ('plots_ashes', fields.IntField(default=0)),
                ('plots_body', fields.IntField(default=0)),
                ('plots_eco', fields.IntField(default=0)),
                ('prices', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='open', max_length=16)),
                ('status_reason', fields.CharField(default='', max_length=500)),
                ('status_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('frozen_inspection_id', fields.IntField(null=True)),
                ('is_demo', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cemetery', 'app': 'cemetery', 'indexes': [Index(fields=['org_path']), Index(fields=['county_code', 'cemetery_type'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CemeteryDocument',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cemetery', fields.ForeignKeyField('cemetery.Cemetery', source_field='cemetery_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('number', fields.CharField(max_length=100)),
                ('issued_by', fields.CharField(default='', max_length=100)),
                ('issued_on', fields.DateField(null=True)),
                ('expires_on', fields.DateField(null=True)),
            ],
            options={'table': 'cemetery_document', 'app': 'cemetery', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InspectionCampaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField(unique=True)),
                ('title', fields.CharField(max_length=200)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('opened_by', fields.CharField(max_length=64)),
            ],
            options={'table': 'cemetery_campaign', 'app': 'cemetery', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CemeteryInspection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cemetery', fields.ForeignKeyField('cemetery.Cemetery', source_field='cemetery_id', db_constraint=True, to_field='id', related_name='inspections', on_delete=OnDelete.RESTRICT)),
                ('campaign', fields.ForeignKeyField('cemetery.InspectionCampaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='inspections', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('org_path', fields.CharField(max_length=255)),
                ('instance_id', fields.CharField(null=True, max_length=36)),
                ('stage', fields.CharField(default='self_report', max_length=16)),
                ('outcome', fields.CharField(null=True, max_length=16)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('checklist_record_id', fields.IntField(null=True)),
                ('acceptance_record_id', fields.IntField(null=True)),
                ('rectification_due', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reinspection_due', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cemetery_inspection', 'app': 'cemetery', 'unique_together': (('cemetery', 'year'),), 'indexes': [Index(fields=['year', 'org_path']), Index(fields=['instance_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rectification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('inspection', fields.ForeignKeyField('cemetery.CemeteryInspection', source_field='inspection_id', db_constraint=True, to_field='id', related_name='rectifications', on_delete=OnDelete.CASCADE)),
                ('checklist_record_id', fields.IntField()),
                ('item', fields.CharField(max_length=64)),
                ('finding', fields.CharField(max_length=500)),
                ('legal_basis', fields.CharField(default='', max_length=200)),
                ('corrective_action', fields.CharField(max_length=500)),
                ('owner', fields.CharField(max_length=100)),
                ('due_on', fields.DateField()),
                ('status', fields.CharField(default='open', max_length=16)),
                ('verified_record_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cemetery_rectification', 'app': 'cemetery', 'indexes': [Index(fields=['status', 'due_on'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
