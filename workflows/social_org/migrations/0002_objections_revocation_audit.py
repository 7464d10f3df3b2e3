from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('social_org', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditObjection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('entry', fields.ForeignKeyField('social_org.CreditListEntry', source_field='entry_id', db_constraint=True, to_field='id', related_name='objections', on_delete=OnDelete.RESTRICT)),
                ('applicant', fields.CharField(max_length=50)),
                ('contact', fields.CharField(max_length=50)),
                ('reason', fields.TextField(unique=False)),
                ('filed_on', fields.DateField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('decision_note', fields.TextField(null=True, unique=False)),
                ('decided_by', fields.CharField(null=True, max_length=64)),
                ('decided_on', fields.DateField(null=True)),
            ],
            options={'table': 'so_credit_objection', 'app': 'social_org', 'indexes': [Index(fields=['status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RevocationEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('social_org.RevocationCase', source_field='case_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('action', fields.CharField(max_length=16)),
                ('stage', fields.CharField(max_length=16)),
                ('actor', fields.CharField(max_length=64)),
                ('on', fields.DateField()),
                ('note', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'so_revocation_event', 'app': 'social_org', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='AnnualInspection',
            name='audit_attachment_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='AnnualInspection',
            name='audit_sha256',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='announced_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='announcement_no',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='decided_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='decision',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='decision_no',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='hearing_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='hearing_requested',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='notice_no',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='notified_on',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='RevocationCase',
            name='stage',
            field=fields.CharField(default='filed', max_length=16),
        ),
    ]
