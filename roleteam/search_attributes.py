"""Search attributes: the columns and filters an operator uses in the Temporal Web UI.

`PlanId="q4-launch" AND RoleStatus="retired"` works in the UI and in `temporal workflow list
--query` once these exist on the namespace: `roleteam server` starts the dev server with them and
the worker adds any that are missing on the namespace it serves. The names are a public contract
(docs/contract.md). This module imports only temporalio, so workflows may import it.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

PLAN_ID = SearchAttributeKey.for_keyword("PlanId")
CANONICAL_ROLE = SearchAttributeKey.for_keyword("CanonicalRole")
ROLE_STATUS = SearchAttributeKey.for_keyword("RoleStatus")
SKILL_COMPLIANCE = SearchAttributeKey.for_keyword("SkillCompliance")
TEAM_TEMPLATE = SearchAttributeKey.for_keyword("TeamTemplate")
OPEN_FINDINGS = SearchAttributeKey.for_int("OpenFindings")
TURN_COUNT = SearchAttributeKey.for_int("TurnCount")

ALL_KEYS: tuple[SearchAttributeKey, ...] = (
    PLAN_ID,
    CANONICAL_ROLE,
    ROLE_STATUS,
    SKILL_COMPLIANCE,
    TEAM_TEMPLATE,
    OPEN_FINDINGS,
    TURN_COUNT,
)


def cli_type(key: SearchAttributeKey) -> str:
    """`Keyword` / `Int`: the type name the `temporal` CLI takes."""
    return "Int" if key.indexed_value_type == IndexedValueType.INDEXED_VALUE_TYPE_INT else "Keyword"


def dev_server_args() -> list[str]:
    """`--search-attribute Name=Type` for every roleteam attribute, for `temporal server start-dev`."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += ["--search-attribute", f"{key.name}={cli_type(key)}"]
    return args


async def ensure_search_attributes(client) -> list[str]:
    """Add whichever roleteam search attributes the client's namespace lacks; returns their names.

    Raises RoleteamError (one line naming the attributes and the command that adds them) when the
    namespace lacks some and this client may not add them: sessions there could not record their
    status, so a worker must not start on it.
    """
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    from roleteam.client import TRANSIENT_RETRIES, backoff, is_transient
    from roleteam.errors import RoleteamError

    namespace = client.namespace

    async def list_attributes():
        for attempt in range(TRANSIENT_RETRIES):
            try:
                return await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=namespace)
                )
            except RPCError as err:
                # A read, so safe to send again; CI saw one cancelled on a busy connection.
                again = is_transient(err) or err.status == RPCStatusCode.CANCELLED
                if not again or attempt == TRANSIENT_RETRIES - 1:
                    raise
            await asyncio.sleep(backoff(attempt))

    try:
        listed = await list_attributes()
    except RPCError as err:
        if err.status not in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED):
            raise
        # Sessions fail their tasks if the attributes are missing, but a worker that may not even
        # look cannot tell; it says what must exist and goes on.
        logging.getLogger("roleteam").warning(
            "cannot list the search attributes of namespace %r (%s); make sure %s exist",
            namespace,
            err.message,
            ", ".join(f"{k.name} ({cli_type(k)})" for k in ALL_KEYS),
        )
        return []
    known = set(listed.custom_attributes) | set(listed.system_attributes)
    missing = [key for key in ALL_KEYS if key.name not in known]
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={key.name: key.indexed_value_type for key in missing},
            )
        )
    except RPCError as err:
        if err.status not in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED):
            raise
        names = ", ".join(f"{k.name} ({cli_type(k)})" for k in missing)
        first = missing[0]
        raise RoleteamError(
            f"namespace {namespace!r} lacks search attributes {names} and this worker may not add "
            f"them ({err.message}); an admin adds each with 'temporal operator search-attribute "
            f"create --namespace {namespace} --name {first.name} --type {cli_type(first)}'"
        ) from None
    return [key.name for key in missing]
