"""`roleteam mcp`: a role team as MCP tools, for any MCP client (hermes-agent, Claude Code, ...).

The server holds one Temporal client, connected on the first tool call (so it starts even while
Temporal is down), and serves tool groups: each group is a module with a `register(server,
connection)` function, listed in `tool_groups()`. Every tool is registered with `@tool(server, ...)`,
which returns any error as an MCP tool error carrying the one-line message the CLI prints, and
gets its `RoleTeam` from `connection.team()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from temporalio.client import Client

from roleteam import tracing
from roleteam.client import RoleTeam, connect
from roleteam.errors import InvalidInputError, RoleteamError
from roleteam.exit import error_message
from roleteam.registry import RoleRegistry, load_role_registry

logger = logging.getLogger(__name__)
T = TypeVar("T")

SERVER_NAME = "roleteam"
INSTRUCTIONS = (
    "Durable AI role teams on Temporal. Each (plan, role) is a long-lived session that keeps its "
    "conversation across invocations: invoke_role asks a role to act and returns its artifact; "
    "role_status, plan_status and role_history show what the roles did; retire_role and "
    "reopen_role manage a role's lifecycle. An invocation_id is an idempotency key: repeat it to "
    "wait again for the same invocation, which never runs twice. Each plan also keeps a ledger of "
    "findings its validating roles report: a finding waits for the Lead (you, when you lead the "
    "team), and nothing is remediated until it is reviewed (review_finding accept) and dispatched "
    "(dispatch=true or dispatch_finding); the revalidating role then closes it "
    "(revalidate_finding). list_findings, plan_gate and plan_status show where the plan stands; "
    "waive and complete_plan close it."
)


def one_line(message: str) -> str:
    """The message as the CLI prints it: whitespace (newlines included) folded to single spaces."""
    return " ".join(message.split())


class TeamConnection:
    """One Temporal client shared by every tool call, connected lazily and reconnected on failure."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await connect(self.address)
            return self._client

    @contextlib.asynccontextmanager
    async def team(self, registry: RoleRegistry | None = None) -> AsyncIterator[RoleTeam]:
        """A `RoleTeam` for one tool call.

        The registry is read per call (as the CLI does per command), so policy edits apply without
        restarting the server. Pass one already loaded to avoid reading it twice.
        """
        yield RoleTeam(await self.client(), registry=registry or load_role_registry())


def tool_errors(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Return a tool's errors as MCP tool errors worded exactly as the CLI's `error: ...` line.

    The SDK would prefix a raised ToolError with "Error executing tool NAME:" and hide the text of
    any other exception; an error result keeps the message as the CLI prints it.
    """

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception as err:  # worded by the function the CLI's errors go through
            if not isinstance(err, RoleteamError):
                logger.warning("tool %s failed", fn.__name__, exc_info=True)
            message = error_message(err)
        return CallToolResult(content=[TextContent(type="text", text=one_line(message))], is_error=True)

    return run


def tool(server: MCPServer, **options: Any) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Like `@server.tool(...)`, with errors returned by `tool_errors`. Every roleteam tool uses it."""

    def decorator(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        server.add_tool(tool_errors(fn), name=fn.__name__, **options)
        return fn

    return decorator


def fill_page(items: Iterable[T], budget: int, size: Callable[[T], int]) -> list[T]:
    """The items, in order, while their `size`s fit in `budget` characters; the first item always,
    however large, so a page is never empty while items remain (paged tools bound their answers)."""
    page: list[T] = []
    for item in items:
        cost = size(item)
        if page and cost > budget:
            break
        budget -= cost
        page.append(item)
    return page


ToolGroup = Callable[[MCPServer, TeamConnection], None]


def tool_groups() -> list[ToolGroup]:
    """The tool groups the server offers, in listing order: role tools, then plan tools."""
    from roleteam import mcp_plan_tools, mcp_role_tools

    return [mcp_role_tools.register, mcp_plan_tools.register]


def build_server(connection: TeamConnection) -> MCPServer:
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    for register in tool_groups():
        register(server, connection)
    return server


def parse_http(value: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 as `[::1]:8765`) for --http."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInputError(f"--http {value!r}: give HOST:PORT with a port 1-65535, e.g. 127.0.0.1:8765")
    return host, int(port)


def serve(address: str | None = None, http: str | None = None) -> None:
    """Run the MCP server: stdio by default, streamable HTTP at `http` (HOST:PORT) when given."""
    endpoint = parse_http(http) if http else None
    tracing.enabled()  # set up before the first tool call, whose span should be traced too
    server = build_server(TeamConnection(address))
    if endpoint is None:
        server.run("stdio")
    else:
        host, port = endpoint
        server.run("streamable-http", host=host, port=port)
