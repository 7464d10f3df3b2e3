from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('dibao', '0003_privacy_method_payment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CountyBands',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('county_code', fields.CharField(max_length=32)),
                ('effective_from', fields.DateField()),
                ('bands', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('document_no', fields.CharField(default='', max_length=100)),
                ('created_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'dibao_county_bands', 'app': 'dibao', 'indexes': [Index(fields=['county_code', 'effective_from'])], 'pk_attr': 'id', 'table_description': 'The band table of the banded method of a county from a date, with who set it and when.'},
            bases=['Model'],
        ),
    ]
