"""The worker's sandbox runner and payload converter: the SDK's, minus per-payload rebuilding.

Both lean on SDK internals for speed, so these tests pin what they must keep: the fast path is
really in use on the installed SDK, it gives the answers the SDK's own path gives, and payloads
are byte for byte those of `pydantic_data_converter`.
"""

from __future__ import annotations

import pytest
from temporalio.api.common.v1.message_pb2 import Payloads
from temporalio.api.enums.v1.command_type_pb2 import CommandType
from temporalio.api.failure.v1.message_pb2 import Failure
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, WorkflowSerializationContext
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import _runner as sdk_runner

from roleteam.codec import data_converter
from roleteam.models import InvokeInput
from roleteam.payload_converter import SharedPydanticPayloadConverter
from roleteam.sandbox_runner import FastContextSandboxedRunner, fast_contexts_available
from roleteam.worker_runtime import workflow_runner
from roleteam.workflows.role_session import RoleSession


def test_workers_run_the_fast_context_sandbox_on_the_installed_sdk():
    # If an SDK release drops the parts it needs, the runner silently falls back to the SDK's
    # own; this test is where that shows.
    assert fast_contexts_available()
    for mode in ("shared", "strict"):
        assert isinstance(workflow_runner({"ROLETEAM_WORKFLOW_SANDBOX": mode}), FastContextSandboxedRunner)


def _instance(runner: FastContextSandboxedRunner):
    details = WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=RoleSession.__temporal_workflow_definition,
        info=sdk_runner._fake_info,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )
    return runner.create_instance(details)


@pytest.mark.parametrize(
    "command",
    [
        None,
        CommandInfo(command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, command_seq=7),
        CommandInfo(command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION, command_seq=3),
    ],
    ids=["workflow", "activity", "child"],
)
async def test_payload_contexts_are_the_ones_the_sdk_gives(command):
    instance = _instance(workflow_runner({"ROLETEAM_WORKFLOW_SANDBOX": "shared"}))
    sdk = sdk_runner._Instance
    assert type(instance) is not sdk  # the fast instance, not the SDK's
    assert instance.get_serialization_context(command) == sdk.get_serialization_context(instance, command)
    assert instance.get_external_store_context(command) == sdk.get_external_store_context(instance, command)
    if command is None:
        assert instance.get_serialization_context(command) == WorkflowSerializationContext(
            namespace=sdk_runner._fake_info.namespace, workflow_id=sdk_runner._fake_info.workflow_id
        )


async def test_payloads_are_byte_for_byte_pydantic_data_converters():
    value = InvokeInput(invocation_id="inv-1", prompt="naïve \u2603 prompt", context={"k": "v"})
    ours = await data_converter().encode([value, {"a": 1}, None, b"raw"])
    stock = await pydantic_data_converter.encode([value, {"a": 1}, None, b"raw"])
    assert ours == stock
    decoded = await data_converter().decode(stock, [InvokeInput, dict, type(None), bytes])
    assert decoded == [value, {"a": 1}, None, b"raw"]


def test_every_payload_converter_shares_one_set_of_encoding_converters():
    first, second = SharedPydanticPayloadConverter(), SharedPydanticPayloadConverter()
    assert first is not second
    assert list(first.converters) == list(PydanticPayloadConverter().converters)
    for a, b in zip(first.converters.values(), second.converters.values(), strict=True):
        assert a is b
    context = WorkflowSerializationContext(namespace="default", workflow_id="role:p:developer")
    # The SDK builds a converter with context by calling the class with no arguments.
    assert first.with_context(context).converters.keys() == first.converters.keys()
