"""The Temporal Web UI as an operator sees a plan's team, in a real headless Chromium.

A dev server with its Web UI is started the way `roleteam server` starts it; the test lists one
plan's workflows by `PlanId`, checks the roles and their `RoleStatus`, opens a role's user
metadata (summary and current details), and saves screenshots under the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import quote

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from roleteam.client import RoleTeam
from roleteam.constants import session_workflow_id
from roleteam.demo import ui_link
from roleteam.devserver import DevServer
from roleteam.search_attributes import ensure_search_attributes
from roleteam.worker_runtime import build_worker
from tests.browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine: install Debian's 'chromium' package (.ci/run does it)",
)

# The columns an operator picks with the list's "Configure columns" (the UI keeps the choice in
# the browser's local storage under this key, per namespace).
COLUMNS_KEY = "namespace-workflow-table-columns"
COLUMNS = ["Status", "Workflow ID", "CanonicalRole", "RoleStatus", "TurnCount", "SkillCompliance", "Start"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def row_of(text: str, workflow_id: str) -> str:
    """The list row (one line of cells) that shows `workflow_id`."""
    rows = [line for line in text.splitlines() if line.strip().startswith(workflow_id)]
    assert rows, f"no row for {workflow_id} in:\n{text}"
    return rows[0]


def browse(ui_url: str, plan_id: str, run_id: str, out: Path) -> dict[str, str]:
    developer = session_workflow_id(plan_id, "developer")
    validator = session_workflow_id(plan_id, "validator")
    browser = Browser(CHROMIUM, out / "chromium-profile")
    try:
        browser.navigate(f"{ui_url}/namespaces/default/workflows")
        browser.wait_for_text("Workflows")
        columns = ",".join(f'{{label: "{c}"}}' for c in COLUMNS)
        browser.evaluate(f'localStorage.setItem("{COLUMNS_KEY}", JSON.stringify({{default: [{columns}]}}))')

        browser.navigate(ui_link(ui_url, plan_id))
        # The two role sessions and the plan's own Plan workflow carry the plan's PlanId.
        listed = browser.wait_for_text(developer, validator, f"plan:{plan_id}", "RoleStatus", "of 3")
        browser.screenshot(out / "plan-workflows.png")

        retired_query = f'PlanId="{plan_id}" AND RoleStatus="retired"'
        browser.navigate(f"{ui_url}/namespaces/default/workflows?query={quote(retired_query)}")
        retired = browser.wait_for_text(validator, "of 1")

        path = f"{ui_url}/namespaces/default/workflows/{quote(validator, safe='')}/{run_id}/user-metadata"
        browser.navigate(path)
        browser.wait_for_text("Current Details")
        # Summary and details are markdown rendered in iframes; one may still be loading.
        frame_text = (
            "Array.from(document.querySelectorAll('iframe'))"
            ".map(f => f.contentDocument?.body?.innerText || '').join('\\n')"
        )
        metadata = ""
        for _ in range(120):
            metadata = browser.evaluate(frame_text) or ""
            if "status:" in metadata and "Validator · plan" in metadata:
                break
            browser.call(
                "Runtime.evaluate", expression="new Promise(r => setTimeout(r, 250))", awaitPromise=True
            )
        browser.screenshot(out / "role-metadata.png")
        return {"listed": listed, "retired": retired, "metadata": metadata}
    finally:
        browser.close()


async def test_web_ui_lists_a_plans_roles_with_their_status(tmp_path, task_queue, plan_id):
    server = DevServer(
        db_file=tmp_path / "temporal.db", port=free_port(), ui_port=free_port(), log_level="error"
    )
    await asyncio.to_thread(server.start, 60.0, tmp_path / "server.log")
    try:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        assert await ensure_search_attributes(client) == [], "roleteam's dev server starts with them"
        team = RoleTeam(client, task_queue=task_queue)
        async with build_worker(client, task_queue):
            await team.invoke(plan_id, "developer", team.request("implement step 1"))
            await team.invoke(plan_id, "validator", team.request("validate step 1"))
            await team.retire(plan_id, "validator", "step 1 validated", by="lead")
            for _ in range(100):  # visibility is eventually consistent
                found = [
                    w async for w in client.list_workflows(f'PlanId="{plan_id}" AND RoleStatus="retired"')
                ]
                if found:
                    break
                await asyncio.sleep(0.1)
            run_id = (await team.handle(plan_id, "validator").describe()).run_id
            # The worker stays up while browsing: the UI asks it for the current details.
            pages = await asyncio.to_thread(browse, server.ui_url, plan_id, run_id, tmp_path)
    finally:
        server.stop()

    developer = row_of(pages["listed"], session_workflow_id(plan_id, "developer"))
    validator = row_of(pages["listed"], session_workflow_id(plan_id, "validator"))
    assert "\tdeveloper\tactive\t1\t" in developer, developer
    assert "\tvalidator\tretired\t1\t" in validator, validator
    assert session_workflow_id(plan_id, "developer") not in pages["retired"]
    assert f"Validator · plan {plan_id}" in pages["metadata"]
    assert "status: retired" in pages["metadata"] and "turns: 1" in pages["metadata"]
    for shot in ("plan-workflows.png", "role-metadata.png"):
        assert (tmp_path / shot).stat().st_size > 10_000, f"{shot} looks blank"
