"""Hostile input to the Plan: any payload is decoded or refused naming the field, any reply is
parsed within bounds, and a plan keeps working whatever arrives."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roleteam import constants as c
from roleteam.errors import RoleteamError
from roleteam.plan_client import PlanTeam
from roleteam.plan_models import (
    BudgetInput,
    DispatchInput,
    PlanInput,
    PlanLifecycleInput,
    RevalidateInput,
    ReviewInput,
    WaiveInput,
)
from roleteam.report_models import PlanDirective, RoleEvent, RoleEventBatch
from roleteam.workflows.findings import parse_reply
from tests.helpers import eventually, temporal
from tests.plan_helpers import BUG, finding_json
from tests.test_properties import FAST, check_decoded, shaped_like

MODELS = [
    ReviewInput,
    DispatchInput,
    RevalidateInput,
    WaiveInput,
    BudgetInput,
    PlanLifecycleInput,
    PlanInput,
    RoleEvent,
    RoleEventBatch,
    PlanDirective,
]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_plan_payloads_decode_or_are_refused_naming_the_field(model):
    @FAST
    @given(shaped_like(list(model.model_fields)))
    def check(raw):
        check_decoded(model, raw)

    check()


@FAST
@given(
    st.text(max_size=2000)
    | st.builds(
        lambda v: "```json\n" + json.dumps(v) + "\n```",
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda kids: (
                st.lists(kids, max_size=5)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "findings",
                            "title",
                            "description",
                            "severity",
                            "reviews",
                            "dispatch",
                            "revalidations",
                            "finding",
                            "decision",
                            "verdict",
                            "files",
                            "id",
                        ]
                    ),
                    kids,
                    max_size=6,
                )
            ),
            max_leaves=30,
        ),
    )
)
def test_any_reply_parses_within_bounds(text):
    reply = parse_reply(text)
    assert len(reply.findings) <= c.MAX_FINDINGS_PER_REPLY and len(reply.skipped) <= c.MAX_SKIPPED_PER_REPLY
    for finding in reply.findings:
        assert finding.title and finding.description and finding.severity in c.SEVERITIES


@pytest.fixture
def plans(client, task_queue) -> PlanTeam:
    return PlanTeam(client, task_queue=task_queue)


async def test_a_plan_keeps_working_whatever_clients_send(client, team, plans, worker, plan_id):
    await plans.open(plan_id)
    wid = f"plan:{plan_id}"
    for name, payload in (
        ("role_event", json.dumps({"plan_id": plan_id, "role": "developer"})),
        ("role_event", json.dumps([1, 2])),
        ("not-a-contract-signal", json.dumps({"x": 1})),
        (
            "role_event",
            json.dumps(
                {
                    "plan_id": "other",
                    "role": "developer",
                    "seq": 1,
                    "kind": "joined",
                    "snapshot": {},
                    "at": "2026-01-01T00:00:00Z",
                }
            ),
        ),
    ):
        result = await temporal(
            client, "workflow", "signal", "--workflow-id", wid, "--name", name, "--input", payload
        )
        assert result.code == 0, result.err
    long_reason = {"finding_id": "F-0001", "decision": "reject", "reason": "x" * 5000}
    refused = await temporal(
        client,
        "workflow",
        "update",
        "execute",
        "--workflow-id",
        wid,
        "--name",
        "review",
        "--input",
        json.dumps(long_reason),
    )
    assert refused.code != 0 and "reason: String should have at most 1000 characters" in refused.err
    with pytest.raises(
        RoleteamError, match="decision: Input should be 'accept', 'reject', 'defer' or 'clarify'"
    ):
        await plans._act(plan_id, c.UPDATE_REVIEW, {"finding_id": "F-1", "decision": "nuke", "reason": "r"})
    await team.invoke(plan_id, "validator", team.request("Validate.\n" + finding_json(BUG), "val-1"))

    async def recorded():
        state = await plans.state(plan_id)
        return state if state.findings else None

    state = await eventually(recorded)
    assert [f.id for f in state.findings] == ["F-0001"]
    assert {e.role for e in state.roster if e.status != "not_started"} == {"validator"}
