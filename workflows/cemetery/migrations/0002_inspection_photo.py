from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('cemetery', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InspectionPhoto',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('inspection', fields.ForeignKeyField('cemetery.CemeteryInspection', source_field='inspection_id', db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.CASCADE)),
                ('task_id', fields.CharField(max_length=36)),
                ('attachment_id', fields.IntField()),
                ('item', fields.CharField(max_length=64)),
                ('plot_label', fields.CharField(default='', max_length=100)),
                ('record_id', fields.IntField(null=True)),
                ('uploaded_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cemetery_photo', 'app': 'cemetery', 'unique_together': (('task_id', 'attachment_id', 'item', 'plot_label'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
