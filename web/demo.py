"""Demo data: the Meishan org tree (townships and villages are a representative DEMO subset),
one demo user per role, and a few instances in different states."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from engine.clock import Clock, FakeClock
from engine.models import HumanTask, OrgUnit, ProcessDefinition, ProcessInstance, User
from engine.runtime import Engine
from web.composition import install_workflows
from web.security import hash_password
from workflows.dibao import demo as dibao_demo
from workflows.dibao.registry import seed_plan_standards

log = logging.getLogger("civicflow.demo")
DEMO_PASSWORD = "civicflow-demo"
# Processes whose demo cases are seeded by their own package (not by the generic sample-data walker).
DOMAIN_SEEDED = {"social_org_annual_inspection", "social_org_spot_check", "cemetery_annual_inspection"}

COUNTIES = [("511402", "东坡区"), ("511403", "彭山区"), ("511421", "仁寿县"), ("511423", "洪雅县"),
            ("511424", "丹棱县"), ("511425", "青神县")]
# Demo subset of the 80 townships/streets; codes are demo codes (county code + 3 digits).
TOWNSHIPS = {
    "511402": ["通惠街道", "大石桥街道", "修文镇", "崇礼镇"],
    "511403": ["凤鸣街道", "谢家街道", "青龙街道"],
    "511421": ["文林街道", "怀仁街道", "视高街道"],
    "511423": ["洪川镇", "止戈街道"],
    "511424": ["丹棱镇", "齐乐镇"],
    "511425": ["青城镇", "汉阳镇"],
}
VILLAGES = ["幸福社区", "和平村"]

USERS = [
    ("admin", "系统管理员", "511400", ["admin", "city_manager"]),
    ("city", "市局业务科(演示)", "511400", ["city_manager", "project_manager"]),
    ("dp_county", "东坡区民政局审核员", "511402", ["county_reviewer"]),
    ("rs_county", "仁寿县民政局审核员", "511421", ["county_reviewer"]),
    ("dp_inspector", "东坡区检查员", "511402", ["inspector"]),
    ("th_clerk", "通惠街道经办人", "511402001", ["township_clerk"]),
    ("th_reviewer", "通惠街道审核人", "511402001", ["township_reviewer"]),
    ("dsq_clerk", "大石桥街道经办人", "511402002", ["township_clerk"]),
    ("wl_clerk", "文林街道经办人", "511421001", ["township_clerk"]),
    ("wl_reviewer", "文林街道审核人", "511421001", ["township_reviewer"]),
    ("wl_village", "文林幸福社区经办人", "511421001001", ["village_clerk"]),
    ("th_village", "幸福社区经办人", "511402001001", ["village_clerk"]),
    ("pm", "项目管理员", "511400", ["project_manager"]),
    ("so_city", "市社会组织管理局(演示)", "511400", ["so_registrar", "inspector"]),
    ("so_dp", "东坡区社会组织登记(演示)", "511402", ["so_registrar", "inspector"]),
    ("so_sup", "业务主管单位(演示)", "511400", ["so_supervisor"]),
    ("so_report", "社会组织填报员(演示)", "511400", ["so_reporter"]),
]


async def seed_org_tree() -> int:
    rows: list[tuple[str, str, str, str | None, bool]] = [("511400", "眉山市", "city", None, False)]
    for code, name in COUNTIES:
        rows.append((code, name, "county", "511400", False))
        for i, tname in enumerate(TOWNSHIPS[code], start=1):
            tcode = f"{code}{i:03d}"
            rows.append((tcode, tname, "township", code, True))
            for j, vname in enumerate(VILLAGES, start=1):
                rows.append((f"{tcode}{j:03d}", f"{tname[:2]}{vname}", "village", tcode, True))
    paths: dict[str, str] = {}
    created = 0
    for code, name, level, parent, demo in rows:
        paths[code] = (paths[parent] if parent else "/") + code + "/"
        _, was_created = await OrgUnit.get_or_create(
            code=code, defaults={"name": name, "level": level, "parent_id": parent, "path": paths[code],
                                 "is_demo": demo})
        created += was_created
    return created


async def seed_users() -> int:
    from projects_registry.demo import DEMO_USERS as PROJECT_USERS

    created = 0
    for username, name, org, roles in [*USERS, *PROJECT_USERS]:
        if not await User.exists(username=username):
            await User.create(username=username, display_name=name, org_unit_id=org, roles=roles,
                              password_hash=hash_password(DEMO_PASSWORD))
            created += 1
    return created


def sample_value(schema: dict[str, Any], name: str = "") -> Any:
    """A plausible value for a JSON Schema node (demo data only)."""
    if "default" in schema:
        return schema["default"]
    if "examples" in schema and schema["examples"]:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {k: sample_value(v, k) for k, v in props.items() if k in required or v.get("type") != "object"}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [sample_value(schema.get("items", {"type": "string"}), name) for _ in range(count)]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return max(low, 1) if kind == "integer" else float(max(low, 0)) + 300.0
    if schema.get("format") == "date":
        return "2026-11-20"
    text = schema.get("title") or name or "演示"
    return ("演示" + str(text))[: int(schema.get("maxLength", 40))].ljust(int(schema.get("minLength", 0)), "。")


async def seed_instances(engine: Engine, process_key: str, org_unit: str, actor: str, steps: list[int]) -> int:
    """Start one instance per entry of `steps` and push it that many human steps forward with sample data."""
    started = 0
    for n, depth in enumerate(steps, start=1):
        try:
            instance = await engine.start(process_key, org_unit=org_unit, actor=actor, business_key=f"DEMO-{n:03d}")
        except Exception as exc:  # noqa: BLE001 - demo seeding is best effort and says what failed
            log.warning("demo: could not start %s: %s", process_key, exc)
            return started
        started += 1
        for _ in range(depth):
            task = await HumanTask.filter(instance_id=instance.id, state="READY").order_by("created_at").first()
            if task is None:
                break
            deployed = await engine.specs.get(instance.definition_id)
            schema = deployed.forms.get(task.form) if task.form else None
            data = sample_value(schema) if schema else {}
            try:
                instance = await engine.complete_task(task.id, data, actor=actor)
            except Exception as exc:  # noqa: BLE001
                log.info("demo: stopped %s at %s: %s", instance.business_key, task.name, exc)
                break
    return started


async def seed_all() -> list[str]:
    """Everything `civicflow demo` seeds; idempotent (cases are only created on an empty database)."""
    report = [f"demo org units created: {await seed_org_tree()}, users created: {await seed_users()} "
              f"(password: {DEMO_PASSWORD})", f"plan standards seeded: {await seed_plan_standards()}"]
    if await ProcessInstance.exists():
        return report
    clock = FakeClock(Clock().now())  # the demo seeds cases as if they had started days ago
    engine = Engine(clock=clock)
    await install_workflows(engine)
    keys = {d.key for d in await ProcessDefinition.all()}
    if "dibao_approval" in keys:
        report.append(f"demo 低保 cases: {await dibao_demo.seed(engine, clock, non_delegated=True)}")
    from workflows.social_org import demo as social_org_demo

    report.append(await social_org_demo.seed(engine))
    report.append(await _social_org_campaigns(engine, clock))
    from workflows.cemetery import demo as cemetery_demo

    report.append(await cemetery_demo.seed(engine))
    if "fund_project_lifecycle" in keys:
        from projects_registry.demo import seed_demo as seed_projects

        report.append(f"demo fund projects: {await seed_projects(engine)}")
    for key in sorted(keys - {"dibao_approval", "fund_project_lifecycle", *DOMAIN_SEEDED}):  # the generic walker
        report.append(f"demo instances of {key}: "
                      f"{await seed_instances(engine, key, '511402001', 'th_clerk', [0, 1, 2])}")
    return report


async def _social_org_campaigns(engine: Engine, clock: FakeClock) -> str:
    """This year's 年检 campaign and the spot-check plans (4% city, 3% counties, 6% joint), partly worked."""
    from workflows.social_org import campaign
    from workflows.social_org.demo import work_campaign

    city = await OrgUnit.get(code="511400")
    today = clock.now()
    year = campaign.campaign_year_default(today)
    clock.set(datetime(year + 1, 1, 12, 1, 0, tzinfo=UTC))  # opened in January, worked through the spring
    opened = await campaign.open_campaign(year, city, "so_city")
    launched = await campaign.launch(engine, opened.id, actor="so_city")
    clock.set(datetime(year + 1, 3, 20, 1, 0, tzinfo=UTC))
    worked = await work_campaign(engine, opened.id)
    clock.set(today)
    await engine.wake_due_timers()  # the deadlines have passed for those that did not report
    from engine.collab import AttachmentStore
    from engine.config import Settings
    from workflows.social_org.demo import work_spot_checks

    settings = Settings.from_env()  # the demo's photos go where the served app reads attachments
    checks = await work_spot_checks(engine, clock, year + 1, AttachmentStore(
        settings.data_dir / "attachments", settings.attachment_max_bytes))
    return (f"social organizations: {year} 年检 instances {launched.launched} ({worked['concluded']} concluded, "
            f"{worked['basic']} of them 基本合格; {worked['not_reported']} not reported), {year + 1} spot-check "
            f"targets {checks['random_targets']} (joint inspections {checks['joint_targets']}; "
            f"{checks['checked']} checked, {checks['findings']} findings, {checks['published']} results published)")
