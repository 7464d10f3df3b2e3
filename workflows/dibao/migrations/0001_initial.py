from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AssistanceStandard',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('county_code', fields.CharField(null=True, max_length=32)),
                ('area_type', fields.CharField(max_length=8)),
                ('benefit_type', fields.CharField(default='dibao', max_length=16)),
                ('monthly_amount', fields.DecimalField(max_digits=10, decimal_places=2)),
                ('effective_from', fields.DateField()),
                ('document_no', fields.CharField(default='', max_length=100)),
                ('created_by', fields.CharField(default='system', max_length=64)),
            ],
            options={'table': 'dibao_standard', 'app': 'dibao', 'indexes': [Index(fields=['benefit_type', 'area_type', 'effective_from'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delegation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('county_code', fields.CharField(max_length=32)),
                ('township_code', fields.CharField(null=True, max_length=32)),
                ('benefit_type', fields.CharField(max_length=16)),
                ('effective_from', fields.DateField()),
                ('effective_to', fields.DateField(null=True)),
                ('document_no', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.CharField(max_length=64)),
            ],
            options={'table': 'dibao_delegation', 'app': 'dibao', 'indexes': [Index(fields=['county_code', 'benefit_type', 'effective_from'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
