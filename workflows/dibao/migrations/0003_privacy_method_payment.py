from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('dibao', '0002_case_and_post_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseFileView',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('dibao.DibaoCase', source_field='case_id', db_constraint=True, to_field='instance_id', related_name='views', on_delete=OnDelete.CASCADE)),
                ('viewer', fields.CharField(max_length=64)),
                ('viewer_org', fields.CharField(max_length=32)),
                ('basis', fields.CharField(max_length=16)),
                ('channel', fields.CharField(max_length=8)),
                ('viewed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dibao_case_view', 'app': 'dibao', 'indexes': [Index(fields=['case_id', 'viewed_at'])], 'pk_attr': 'id', 'table_description': 'Who opened the full household file of a case, when and through which channel (web page or API).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CountyMethod',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('county_code', fields.CharField(max_length=32)),
                ('method', fields.CharField(max_length=8)),
                ('effective_from', fields.DateField()),
                ('document_no', fields.CharField(default='', max_length=100)),
                ('created_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'dibao_county_method', 'app': 'dibao', 'indexes': [Index(fields=['county_code', 'effective_from'])], 'pk_attr': 'id', 'table_description': 'The amount method of a county (gap or banded) from a date, with who set it and when.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('dibao.DibaoCase', source_field='case_id', db_constraint=True, to_field='instance_id', related_name='payment_changes', on_delete=OnDelete.CASCADE)),
                ('audit', fields.ForeignKeyField('dibao.PostAudit', source_field='audit_id', null=True, db_constraint=True, to_field='id', related_name='payment_changes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=8)),
                ('previous_amount', fields.DecimalField(null=True, max_digits=10, decimal_places=2)),
                ('new_amount', fields.DecimalField(null=True, max_digits=10, decimal_places=2)),
                ('effective_from', fields.DateField()),
                ('reason', fields.TextField(unique=False)),
                ('created_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dibao_payment_change', 'app': 'dibao', 'pk_attr': 'id', 'table_description': 'A recorded change of the payment of a case (纠正 in the post-audit): stop or a new amount from a date.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='DibaoCase',
            name='applicant_id_number',
            field=fields.CharField(null=True, max_length=18),
        ),
        ops.AddField(
            model_name='DibaoCase',
            name='members',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
