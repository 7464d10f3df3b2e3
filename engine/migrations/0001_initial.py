from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(unique=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=64)),
                ('action', fields.CharField(max_length=64)),
                ('instance_id', fields.CharField(null=True, max_length=36)),
                ('task_id', fields.CharField(null=True, max_length=36)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'engine', 'indexes': [Index(fields=['instance_id', 'seq'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditHead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seq', fields.BigIntField(default=0)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_head', 'app': 'engine', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarDay',
            fields=[
                ('day', fields.DateField(primary_key=True, unique=True, db_index=True)),
                ('is_working', fields.BooleanField()),
                ('note', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'calendar_day', 'app': 'engine', 'pk_attr': 'day'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrgUnit',
            fields=[
                ('code', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('level', fields.CharField(max_length=16)),
                ('parent', fields.ForeignKeyField('engine.OrgUnit', source_field='parent_id', null=True, db_constraint=True, to_field='code', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('path', fields.CharField(max_length=255)),
                ('is_demo', fields.BooleanField(default=False)),
            ],
            options={'table': 'org_unit', 'app': 'engine', 'indexes': [Index(fields=['path'])], 'pk_attr': 'code'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProcessDefinition',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=100)),
                ('version', fields.IntField()),
                ('name', fields.CharField(max_length=200)),
                ('content_hash', fields.CharField(max_length=64)),
                ('bpmn_filename', fields.CharField(max_length=200)),
                ('bpmn_xml', fields.TextField(unique=False)),
                ('dmn_sources', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('forms', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('deployed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deployed_by', fields.CharField(default='system', max_length=64)),
            ],
            options={'table': 'process_definition', 'app': 'engine', 'unique_together': (('key', 'version'), ('key', 'content_hash')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProcessInstance',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('definition', fields.ForeignKeyField('engine.ProcessDefinition', source_field='definition_id', db_constraint=True, to_field='id', related_name='instances', on_delete=OnDelete.RESTRICT)),
                ('process_key', fields.CharField(max_length=100)),
                ('process_version', fields.IntField()),
                ('business_key', fields.CharField(null=True, max_length=100)),
                ('org_unit', fields.CharField(max_length=32)),
                ('org_path', fields.CharField(max_length=255)),
                ('status', fields.CharField(max_length=16)),
                ('next_timer_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('state', fields.TextField(null=True, unique=False)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('started_by', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'process_instance', 'app': 'engine', 'indexes': [Index(fields=['process_key', 'status']), Index(fields=['business_key']), Index(fields=['org_path']), Index(fields=['status', 'next_timer_at']), Index(fields=['updated_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HumanTask',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('instance', fields.ForeignKeyField('engine.ProcessInstance', source_field='instance_id', db_constraint=True, to_field='id', related_name='human_tasks', on_delete=OnDelete.CASCADE)),
                ('process_key', fields.CharField(max_length=100)),
                ('bpmn_id', fields.CharField(max_length=100)),
                ('name', fields.CharField(max_length=200)),
                ('title', fields.CharField(max_length=300)),
                ('form', fields.CharField(null=True, max_length=200)),
                ('candidate_role', fields.CharField(max_length=64)),
                ('org_unit', fields.CharField(max_length=32)),
                ('org_path', fields.CharField(max_length=255)),
                ('assignee', fields.CharField(null=True, max_length=64)),
                ('owner', fields.CharField(null=True, max_length=64)),
                ('priority', fields.IntField(default=50)),
                ('state', fields.CharField(max_length=16)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_by', fields.CharField(null=True, max_length=64)),
                ('escalated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'human_task', 'app': 'engine', 'indexes': [Index(fields=['state', 'org_unit', 'candidate_role']), Index(fields=['assignee', 'state']), Index(fields=['org_path', 'state']), Index(fields=['completed_by', 'completed_at']), Index(fields=['due_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('display_name', fields.CharField(max_length=100)),
                ('password_hash', fields.CharField(max_length=255)),
                ('org_unit', fields.ForeignKeyField('engine.OrgUnit', source_field='org_unit_id', db_constraint=True, to_field='code', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('roles', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_user', 'app': 'engine', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('engine.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'engine', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
