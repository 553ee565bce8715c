"""Worker options read from the environment: the workflow cache size and the sandbox mode."""

from __future__ import annotations

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from roleteam.errors import RoleteamError
from roleteam.worker_runtime import DEFAULT_MAX_CACHED_WORKFLOWS, max_cached_workflows, workflow_runner


def test_max_cached_workflows_defaults_and_reads_a_whole_number():
    assert max_cached_workflows({}) == DEFAULT_MAX_CACHED_WORKFLOWS == 1000
    assert max_cached_workflows({"ROLETEAM_MAX_CACHED_WORKFLOWS": " 250 "}) == 250
    assert max_cached_workflows({"ROLETEAM_MAX_CACHED_WORKFLOWS": "0"}) == 0


@pytest.mark.parametrize("raw", ["lots", "-1", "1.5", "2000000"])
def test_a_bad_cache_size_is_one_line_naming_the_variable_and_value(raw):
    with pytest.raises(RoleteamError) as err:
        max_cached_workflows({"ROLETEAM_MAX_CACHED_WORKFLOWS": raw})
    message = str(err.value)
    assert f"ROLETEAM_MAX_CACHED_WORKFLOWS={raw!r}" in message and "\n" not in message


def test_the_sandbox_shares_roleteam_modules_unless_strict_or_off():
    shared = workflow_runner({}).restrictions
    assert "roleteam" in shared.passthrough_modules
    strict = workflow_runner({"ROLETEAM_WORKFLOW_SANDBOX": "strict"}).restrictions
    assert strict.passthrough_modules == SandboxRestrictions.default.passthrough_modules
    assert isinstance(workflow_runner({"ROLETEAM_WORKFLOW_SANDBOX": " OFF "}), UnsandboxedWorkflowRunner)
    with pytest.raises(RoleteamError, match="ROLETEAM_WORKFLOW_SANDBOX='loose'.*shared, strict or off"):
        workflow_runner({"ROLETEAM_WORKFLOW_SANDBOX": "loose"})
