"""The project library through its JSON API (/api/v1/projects, /api/v1/project-batches), from 申报 to 结项 with
the detours: return for revision with an edit, rejected at 入库, not yet mature, a failing evaluation; and the
precise errors (422 fields, 403, 404 outside scope, 409 at the wrong step)."""

from __future__ import annotations

from typing import Any

from engine.models import ProcessInstance
from projects_registry.models import BudgetLine, Project, ProjectEvent
from tests.conftest import api_token
from tests.integration.projects_helpers import deploy
from tests.integration.test_projects__pages import add_project_managers

SCORES_90 = {c: 90 for c in ("policy_fit", "compliance", "feasibility", "readiness", "cost", "targets")}
ALL_MET = {k: True for k in ("plan_ready", "co_funding_ready", "site_ready", "team_ready", "procurement_ready")}


def declaration(name: str = "通惠街道老年助餐点建设", lottery: int = 300000, county: int = 100000,
                **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "applicant_org": "511402", "applicant_unit": "东坡区民政局", "contact": "张科长",
        "category": "elderly", "scope": "新建老年助餐点 2 个", "beneficiaries": "辖区老年人", "beneficiary_count": 800,
        "period_start": "2026-01-01", "period_end": "2026-12-31", "location": "东坡区通惠街道",
        "funding": {"lottery": lottery, "county": county},
        "budget_lines": [{"item": "厨房设备", "category": "equipment", "source": "lottery", "amount": lottery},
                         {"item": "助餐服务购买", "category": "services", "source": "county", "amount": county}],
        "indicators": [{"kind": "output_quantity", "name": "助餐服务人次", "target": 20000, "unit": "人次"},
                       {"kind": "outcome", "name": "老人就餐便利度提升", "target": 80, "unit": "%"},
                       {"kind": "satisfaction", "name": "服务对象满意度", "target": 90, "unit": "%"}]}
    body.update(overrides)
    return body


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.tokens: dict[str, dict[str, str]] = {}

    async def login(self, *users: str) -> None:
        for u in users:
            self.tokens[u] = await api_token(self.client, u)

    async def act(self, user: str, pid: int, action: str, status: int = 200, **body: Any) -> dict[str, Any]:
        r = await self.client.post(f"/api/v1/projects/{pid}/actions", headers=self.tokens[user],
                                   json={"action": action, **body})
        assert r.status_code == status, r.text
        return dict(r.json())

    async def stage(self, pid: int) -> str:
        r = await self.client.get(f"/api/v1/projects/{pid}", headers=self.tokens["city_mgr"])
        assert r.status_code == 200, r.text
        return str(r.json()["stage"])

    async def submit(self, body: dict[str, Any] | None = None) -> int:
        r = await self.client.post("/api/v1/projects", headers=self.tokens["dp_pm"], json=body or declaration())
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def to_reserve(self, pid: int, score: int = 90) -> None:
        await self.act("dp_county", pid, "county_review", decision="pass", opinion="推荐")
        await self.act("city_mgr", pid, "score", scores={c: score for c in SCORES_90})
        await self.act("city_mgr", pid, "decide_entry", opinion="同意")


async def setup(client: Any, engine: Any, password_hash: str) -> Api:
    await deploy(engine)
    await add_project_managers(password_hash)
    api = Api(client)
    await api.login("dp_pm", "rs_pm", "dp_county", "city_mgr")
    return api


async def test_full_lifecycle_through_the_api_with_an_edit_after_return(client: Any, engine: Any,
                                                                        password_hash: str) -> None:
    api = await setup(client, engine, password_hash)
    pid = await api.submit()
    assert await api.stage(pid) == "county_review"
    # the applicant cannot edit while the county reviews it: 409, nothing changed
    r = await client.put(f"/api/v1/projects/{pid}", headers=api.tokens["dp_pm"], json=declaration(name="提前修改"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
    await api.act("dp_county", pid, "county_review", decision="return", opinion="请补充成本测算")
    assert await api.stage(pid) == "revision"

    edited = declaration(lottery=280000, county=120000, indicators=[
        {"kind": "output_quantity", "name": "助餐服务人次", "target": 24000, "unit": "人次"},
        {"kind": "output_cost", "name": "每餐补助成本", "target": 8, "unit": "元"},
        {"kind": "outcome", "name": "老人就餐便利度提升", "target": 80, "unit": "%"},
        {"kind": "satisfaction", "name": "服务对象满意度", "target": 90, "unit": "%"}])
    r = await client.put(f"/api/v1/projects/{pid}", headers=api.tokens["dp_county"], json=edited)
    assert r.status_code == 403  # only the applicant's project manager edits
    r = await client.put(f"/api/v1/projects/{pid}", headers=api.tokens["dp_pm"], json=edited)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] == ["预算明细", "绩效指标"] and body["total_budget"] == "400000.00"
    assert [i["target"] for i in body["indicators"]] == ["24000.00", "8.00", "80.00", "90.00"]
    assert body["timeline"][-1]["action"] == "退回后修改申报内容" and "预算明细" in body["timeline"][-1]["detail"]
    assert body["stage"] == "revision"  # an edit alone does not resubmit
    await api.act("dp_pm", pid, "revise", note="已补充成本测算,调整资金结构")
    assert await api.stage(pid) == "county_review"
    await api.act("dp_county", pid, "county_review", decision="pass", opinion="同意推荐")

    out = await api.act("city_mgr", pid, "score", scores=SCORES_90, comment="目标明确")
    assert out["result"]["mean"] == "90.00"
    out = await api.act("city_mgr", pid, "decide_entry", opinion="同意入库")
    assert out["result"]["admitted"] and out["project"]["stage"] == "reserve"

    out = await api.act("city_mgr", pid, "assess", checklist={"plan_ready": True}, opinion="场地未落实")
    assert out["result"]["mature"] is False and out["project"]["stage"] == "reserve"  # not yet mature: re-assess
    out = await api.act("city_mgr", pid, "assess", checklist=ALL_MET, opinion="已就绪")
    assert out["result"]["mature"] and out["project"]["stage"] == "mature"

    r = await client.post("/api/v1/project-batches", headers=api.tokens["city_mgr"],
                          json={"year": 2026, "source": "lottery", "budget": 500000})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert [i["project_id"] for i in batch["items"]] == [pid] and batch["total"] == "280000.00"
    assert any("可安排" in line for line in batch["arithmetic"])
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/confirm", headers=api.tokens["city_mgr"])
    assert r.status_code == 200 and r.json()["released"] == 1 and r.json()["status"] == "confirmed"
    assert await api.stage(pid) == "released"

    await api.act("city_mgr", pid, "fund", agreement_no="眉民协〔2026〕3号", agreement_date="2026-03-01",
                  amount=280000)
    await api.act("dp_pm", pid, "milestone", name="设备采购完成", due_on="2026-05-01", done_on="2026-04-28")
    out = await api.act("dp_pm", pid, "execution", reported_on="2026-07-01", spent_total=40000,
                        target_progress=45, note="年中")
    assert out["result"]["warnings"] and "预算执行滞后" in out["result"]["warnings"][0]
    await api.act("city_mgr", pid, "monitor", opinion="督促加快支出")
    await api.act("dp_pm", pid, "execution", reported_on="2026-12-20", spent_total=392000, target_progress=100)
    await api.act("dp_pm", pid, "finish", summary="全部完成")
    out = await api.act("dp_county", pid, "accept", passed=False, opinion="台账不全")
    assert out["project"]["stage"] == "acceptance"
    await api.act("dp_pm", pid, "rectify_impl", note="台账已补齐")
    out = await api.act("dp_county", pid, "accept", passed=True, opinion="验收合格")
    assert out["project"]["stage"] == "self_evaluation"

    ids = [i["id"] for i in out["project"]["indicators"]]
    r = await client.post(f"/api/v1/projects/{pid}/actions", headers=api.tokens["dp_pm"],
                          json={"action": "self_eval", "actuals": {str(ids[0]): 23000}, "report": "自评"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "incomplete"
    out = await api.act("dp_pm", pid, "self_eval", report="自评报告",
                        actuals={str(i): v for i, v in zip(ids, [23000, 8, 85, 93], strict=True)})
    assert out["result"]["grade"] == "优"
    out = await api.act("city_mgr", pid, "evaluate", opinion="评价合格")
    assert out["project"]["stage"] == "closed" and out["project"]["grade"] == out["result"]["grade"] == "优"
    project = await Project.get(id=pid)
    assert (await ProcessInstance.get(id=project.instance_id)).status == "completed"
    detail = (await client.get(f"/api/v1/projects/{pid}", headers=api.tokens["dp_pm"])).json()
    actions = [e["action"] for e in detail["timeline"]]
    assert actions[0] == "申报" and actions[-1] == "绩效评价" and "退回后修改申报内容" in actions
    assert len(detail["evaluations"]) == 2 and len(detail["milestones"]) == 1 and len(detail["executions"]) == 2


async def test_rejected_at_entry_and_a_failing_evaluation(client: Any, engine: Any, password_hash: str) -> None:
    api = await setup(client, engine, password_hash)
    low = await api.submit(declaration("低分项目"))
    await api.act("dp_county", low, "county_review", decision="pass", opinion="推荐")
    r = await client.post(f"/api/v1/projects/{low}/actions", headers=api.tokens["city_mgr"],
                          json={"action": "decide_entry", "opinion": "x"})
    assert r.status_code == 409 and "尚无专家评分" in r.json()["error"]["message"]
    await api.act("city_mgr", low, "score", scores={c: 65 for c in SCORES_90})
    out = await api.act("city_mgr", low, "decide_entry", opinion="未达分数线")
    assert out["result"]["admitted"] is False and out["project"]["stage"] == "rejected"

    poor = await api.submit(declaration("效果不佳项目"))
    await api.to_reserve(poor)
    await api.act("city_mgr", poor, "assess", checklist=ALL_MET, opinion="就绪")
    batch = (await client.post("/api/v1/project-batches", headers=api.tokens["city_mgr"],
                               json={"year": 2026, "source": "lottery", "budget": 300000})).json()
    assert (await client.post(f"/api/v1/project-batches/{batch['id']}/confirm",
                              headers=api.tokens["city_mgr"])).status_code == 200
    await api.act("city_mgr", poor, "fund", agreement_no="协议1", agreement_date="2026-03-01", amount=300000)
    await api.act("city_mgr", poor, "monitor", opinion="未填报执行情况")
    await api.act("dp_pm", poor, "execution", reported_on="2026-12-01", spent_total=100000, target_progress=30)
    await api.act("dp_pm", poor, "finish", summary="部分完成")
    out = await api.act("dp_county", poor, "accept", passed=True, opinion="勉强通过")
    ids = [i["id"] for i in out["project"]["indicators"]]
    await api.act("dp_pm", poor, "self_eval", report="完成不理想",
                  actuals={str(ids[0]): 5000, str(ids[1]): 0, str(ids[2]): 60})
    out = await api.act("city_mgr", poor, "evaluate", opinion="未达目标")
    assert out["result"]["grade"] == "差" and float(out["result"]["total"]) < 60
    assert out["project"]["stage"] == "evaluation"  # 差: rectification before 结项
    assert [t["bpmn_id"] for t in out["project"]["open_tasks"]] == ["Task_rectify"]
    out = await api.act("dp_pm", poor, "rectify", plan="调整实施团队")
    assert out["project"]["stage"] == "closed" and out["project"]["grade"] == "差"


async def test_api_errors_are_precise_and_change_nothing(client: Any, engine: Any, password_hash: str) -> None:
    api = await setup(client, engine, password_hash)
    banned = declaration(budget_lines=[
        {"item": "厨房设备", "category": "equipment", "source": "lottery", "amount": 200000},
        {"item": "助餐点工作人员工资", "category": "salaries", "source": "lottery", "amount": 100000},
        {"item": "助餐服务购买", "category": "services", "source": "county", "amount": 100000}])
    r = await client.post("/api/v1/projects", headers=api.tokens["dp_pm"], json=banned)
    assert r.status_code == 422
    fields = {f["field"]: f for f in r.json()["error"]["fields"]}
    assert fields["banned"]["code"] == "banned_use" and "不得用于人员工资" in fields["banned"]["message"]
    r = await client.post("/api/v1/projects", headers=api.tokens["dp_pm"], json=declaration(
        name=" ", category="sports", period_start="2026-13-01", funding={"lottery": "many"}))
    assert r.status_code == 422
    codes = {(f["field"], f["code"]) for f in r.json()["error"]["fields"]}
    assert {("name", "blank"), ("category", "enum"), ("period_start", "format"), ("funding.lottery", "type")} <= codes
    r = await client.post("/api/v1/projects", headers=api.tokens["rs_pm"], json=declaration())  # 东坡区: not theirs
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == "unknown"
    r = await client.post("/api/v1/projects", headers=api.tokens["dp_county"], json=declaration())
    assert r.status_code == 403
    assert await Project.all().count() == 0

    pid = await api.submit()
    rs = await api_token(client, "rs_county")
    assert (await client.get(f"/api/v1/projects/{pid}", headers=rs)).status_code == 404  # other county: missing
    assert (await client.get("/api/v1/projects", headers=rs)).json()["total"] == 0
    listed = (await client.get("/api/v1/projects?stage=county_review&source=lottery",
                               headers=api.tokens["dp_county"])).json()
    assert [p["id"] for p in listed["items"]] == [pid]
    assert (await client.get("/api/v1/projects?stage=bogus", headers=api.tokens["dp_county"])).status_code == 400
    assert (await client.get("/api/v1/projects/abc", headers=api.tokens["dp_pm"])).status_code == 404
    r = await api.act("dp_pm", pid, "county_review", 403, decision="pass", opinion="自己推荐自己")
    assert r["error"]["code"] == "forbidden"
    r = await api.act("city_mgr", pid, "fund", 409, agreement_no="x", agreement_date="2026-03-01", amount=1)
    assert r["error"]["code"] == "invalid_state"
    r = await api.act("dp_county", pid, "county_review", 422, decision="maybe", opinion="")
    assert {f["field"] for f in r["error"]["fields"]} == {"decision", "opinion"}
    r = await api.act("dp_county", pid, "launch", 422)
    assert r["error"]["fields"][0]["field"] == "action"
    r = await client.post(f"/api/v1/projects/{pid}/actions", headers=api.tokens["dp_county"], content=b"{")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert (await client.post("/api/v1/projects", json=declaration())).status_code == 401
    assert await api.stage(pid) == "county_review"
    assert await BudgetLine.filter(project_id=pid).count() == 2
    assert await ProjectEvent.filter(project_id=pid).count() == 1


async def test_batch_api_stays_within_budget_and_is_city_only(client: Any, engine: Any, password_hash: str) -> None:
    api = await setup(client, engine, password_hash)
    pids = []
    for name, score in (("甲项目", 95), ("乙项目", 90), ("丙项目", 85)):
        pid = await api.submit(declaration(name))
        await api.to_reserve(pid, score)
        await api.act("city_mgr", pid, "assess", checklist=ALL_MET, opinion="就绪")
        pids.append(pid)
    r = await client.post("/api/v1/project-batches", headers=api.tokens["dp_pm"],
                          json={"year": 2026, "source": "lottery", "budget": 700000})
    assert r.status_code == 403
    r = await client.post("/api/v1/project-batches", headers=api.tokens["city_mgr"],
                          json={"year": 1999, "source": "gold", "budget": -1})
    assert r.status_code == 422 and {f["field"] for f in r.json()["error"]["fields"]} == {"year", "source", "budget"}
    r = await client.post("/api/v1/project-batches", headers=api.tokens["city_mgr"],
                          json={"year": 2026, "source": "lottery", "budget": 700000})
    batch = r.json()
    assert [i["project_id"] for i in batch["items"]] == pids[:2]  # 300000 each: the third does not fit
    assert batch["total"] == "600000.00" and batch["left"] == "100000.00"
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/adjust", headers=api.tokens["city_mgr"],
                          json={"add": pids[2]})
    assert r.status_code == 409 and "超过可安排额度" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/adjust", headers=api.tokens["city_mgr"],
                          json={"remove": pids[1]})
    assert [i["project_id"] for i in r.json()["items"]] == [pids[0]]
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/adjust", headers=api.tokens["city_mgr"],
                          json={"add": pids[2]})
    assert [i["project_id"] for i in r.json()["items"]] == [pids[0], pids[2]]
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/confirm", headers=api.tokens["city_mgr"])
    assert r.status_code == 200 and r.json()["released"] == 2
    r = await client.post(f"/api/v1/project-batches/{batch['id']}/confirm", headers=api.tokens["city_mgr"])
    assert r.status_code == 409
    assert [await api.stage(p) for p in pids] == ["released", "mature", "released"]
    assert (await client.get("/api/v1/project-batches/999", headers=api.tokens["city_mgr"])).status_code == 404
