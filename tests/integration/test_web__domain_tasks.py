from __future__ import annotations

from typing import Any

from engine.models import HumanTask
from engine.runtime import Engine
from projects_registry import lifecycle
from tests.conftest import browser_login
from tests.integration.projects_helpers import PM, deploy, submission


async def test_project_task_is_worked_on_the_project_page_not_the_generic_form(engine: Engine, client: Any) -> None:
    await deploy(engine)
    project = await lifecycle.submit(engine, PM, submission())
    task = await HumanTask.get(instance_id=project.instance_id, state="READY")
    csrf = await browser_login(client, "dp_county")
    page = await client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and f'href="/projects/{project.id}"' in page.text
    assert "须在业务页面中办理" in page.text and 'class="task-form"' not in page.text
    r = await client.post(f"/tasks/{task.id}", data={"csrf_token": csrf, "decision": "approve"})
    assert r.status_code == 409
    assert (await HumanTask.get(id=task.id)).state == "READY"
