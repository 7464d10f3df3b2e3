from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('dibao', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DibaoCase',
            fields=[
                ('instance_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36)),
                ('business_key', fields.CharField(null=True, max_length=100)),
                ('org_unit', fields.CharField(max_length=32)),
                ('org_path', fields.CharField(max_length=255)),
                ('township_code', fields.CharField(null=True, max_length=32)),
                ('county_code', fields.CharField(null=True, max_length=32)),
                ('applicant_name', fields.CharField(null=True, max_length=50)),
                ('household_size', fields.IntField(null=True)),
                ('separately_registered', fields.BooleanField(default=False)),
                ('complaint', fields.BooleanField(default=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delegated', fields.BooleanField(null=True)),
                ('deadline_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('extended_deadline_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('extension_reason', fields.CharField(null=True, max_length=500)),
                ('decision', fields.CharField(null=True, max_length=16)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.CharField(null=True, max_length=64)),
                ('monthly_amount', fields.DecimalField(null=True, max_digits=10, decimal_places=2)),
                ('amount_explanation', fields.TextField(null=True, unique=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dibao_case', 'app': 'dibao', 'indexes': [Index(fields=['county_code', 'decided_at']), Index(fields=['org_path']), Index(fields=['deadline_at'])], 'pk_attr': 'instance_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostAudit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('dibao.DibaoCase', source_field='case_id', db_constraint=True, to_field='instance_id', related_name='audits', on_delete=OnDelete.CASCADE)),
                ('county_code', fields.CharField(max_length=32)),
                ('township_code', fields.CharField(max_length=32)),
                ('period', fields.CharField(max_length=7)),
                ('reason', fields.CharField(max_length=16)),
                ('draw_id', fields.IntField(null=True)),
                ('outcome', fields.CharField(null=True, max_length=16)),
                ('opinion', fields.TextField(null=True, unique=False)),
                ('audited_by', fields.CharField(null=True, max_length=64)),
                ('audited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dibao_post_audit', 'app': 'dibao', 'unique_together': (('case', 'period'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
