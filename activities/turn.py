"""Activity `run_turn`: the role's brief and the model call in one round trip.

One activity per invocation instead of `load_role_brief` then `call_model`: a workflow task and
a worker round trip fewer per turn, and the system prompt with its skill text never enters the
workflow's history (only the evidence does: skill names, paths, sha256, compliance). The older
two activities stay registered so histories that scheduled them still replay.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from roleteam.activities.brief import load_role_brief
from roleteam.activities.model import HEARTBEAT_DETAILS, call_model
from roleteam.activities.settings import ProviderSettings
from roleteam.constants import (
    ACTIVITY_RUN_TURN,
    ACTIVITY_RUN_TURNS,
    CONTEXT_NOT_CACHED_ERROR,
    MAX_ACTIVITY_INPUT_BYTES,
    MAX_REPLY_BYTES,
    MAX_TURN_BATCH_RESULT_BYTES,
    MODEL_INPUT_TOO_LARGE_ERROR,
    QUERY_CONTEXT,
)
from roleteam.models import (
    ModelCallInput,
    RoleBrief,
    Turn,
    TurnBatchInput,
    TurnBatchItem,
    TurnBatchResult,
    TurnContext,
    TurnInput,
    TurnRef,
    TurnResult,
    TurnSpan,
    span_digest,
    text_digest,
    turn_digest,
)
from roleteam.workflows.context import turns_to_fold

# How long `run_turn` waits for the session to answer its `context` query before falling back to
# ContextNotCached (the session then sends the context verbatim).
CONTEXT_QUERY_SECONDS = 10.0

# (workflow id, run id) -> the session's TurnContext, or None when it cannot be read.
ContextFetcher = Callable[[str, str], Awaitable[TurnContext | None]]


async def context_from_session(workflow_id: str, run_id: str) -> TurnContext | None:
    """The session's context by its `context` query (served by the worker that has the session
    cached, which just scheduled this activity), or None when it cannot be read."""
    try:
        handle = activity.client().get_workflow_handle(workflow_id, run_id=run_id or None)
        return await handle.query(
            QUERY_CONTEXT, result_type=TurnContext, rpc_timeout=timedelta(seconds=CONTEXT_QUERY_SECONDS)
        )
    except Exception as err:  # noqa: BLE001 - any failure: the session sends the context instead
        activity.logger.info("the session's context could not be read: %s", err)
        return None


class TurnActivities:
    """Built once per worker; `run_turn` is registered as a bound method.

    `settings` is read at each call (a worker's environment may be set after it is built, as in
    tests); the HTTP client is the worker's one long-lived `AsyncOpenAI` per event loop and
    endpoint (`providers/openai_compat.openai_client`), reused by every call.
    """

    def __init__(
        self,
        settings: Callable[[], ProviderSettings] = ProviderSettings.from_env,
        turns: RecentTurns | None = None,
        fetch_context: ContextFetcher = context_from_session,
    ) -> None:
        self._settings = settings
        self._turns = turns or RecentTurns()
        self._fetch_context = fetch_context

    @activity.defn(name=ACTIVITY_RUN_TURN)
    async def run_turn(self, request: TurnInput) -> TurnResult:
        session = activity.info().workflow_id or ""
        request = await self._resolve_context(session, request)
        result = await _one_turn(request)
        if request.turn > 0 and result.reply is not None:
            # The session keeps this turn verbatim; the next call names it.
            self._turns.hold(session, [*request.recent_turns, _turn_of(request, result)])
        return result

    @activity.defn(name=ACTIVITY_RUN_TURNS)
    async def run_turns(self, batch: TurnBatchInput) -> TurnBatchResult:
        """Run queued invocations' turns one after another, each with the turns before it in its
        context, as the session would have run them one at a time.

        The first item fails the activity as `run_turn` does (so Temporal retries it). A later
        item that cannot run ends the batch instead, with what ran so far: the session runs it on
        its own, with its own retries. Each finished item is heartbeated, so an attempt after a
        lost worker takes up where the last one stopped instead of calling the model again.
        """
        session = activity.info().workflow_id or ""
        first = await self._resolve_context(session, batch.first)
        done = _heartbeated(batch)
        out = TurnBatchResult(results=done.results, turns=done.turns, durations_ms=done.durations_ms)
        items = [TurnBatchItem(brief=first.brief, mode=first.mode), *batch.more]
        summary, recent, turn = first.summary, list(first.recent_turns), first.turn
        skills_digest = first.skills_digest
        for index, item in enumerate(items):
            request = TurnInput(
                brief=item.brief,
                mode=item.mode,
                turn=turn,
                summary=summary,
                recent_turns=recent,
                skills_digest=skills_digest,
            )
            if index < len(out.results):  # finished by an earlier attempt
                result = out.results[index]
            else:
                if index > 0 and _result_bytes(out) >= MAX_TURN_BATCH_RESULT_BYTES:
                    out.stopped = f"{_result_bytes(out)} bytes of results"
                    break
                began = time.monotonic()
                try:
                    result = await _one_turn(request)
                except Exception as err:  # noqa: BLE001 - a later item ends the batch instead
                    if index == 0:
                        raise
                    out.stopped = f"{item.brief.invocation_id} did not run here: {err}"[:500]
                    break
                out.results.append(result)
                out.turns.append(turn if result.reply is not None else 0)
                out.durations_ms.append(round((time.monotonic() - began) * 1000))
                activity.heartbeat(out)
                HEARTBEAT_DETAILS.set((out,))  # what the next call's heartbeats carry
            if result.skills is not None:
                skills_digest = text_digest(result.skills.model_dump_json())
            if result.reply is None:
                continue  # refused by the policy: no turn taken, the context stays as it was
            recent.append(_turn_of(request, result))
            turn += 1
            more = index + 1 < len(items)
            if more and turns_to_fold(recent, batch.context_token_budget, batch.max_recent_bytes):
                out.stopped = "older turns to fold first"
                break
        if recent:
            self._turns.hold(session, recent)
        return out

    async def _resolve_context(self, session: str, request: TurnInput) -> TurnInput:
        """The request with the context it names by reference filled in from what this worker
        holds; what it does not hold it asks the session for (query `context`, checked against
        the digests), and ContextNotCached only when that fails too. Context sent verbatim is held.
        """
        resolved, missing = self._resolve_held(session, request)
        if missing is None:
            return resolved
        fetched = await self._fetch_context(session, activity.info().workflow_run_id or "")
        if fetched is not None:
            self._turns.hold(session, fetched.recent_turns)
            if fetched.summary:
                self._turns.hold_summary(session, fetched.summary)
            resolved, missing = self._resolve_held(session, request)
        if missing is not None:
            raise _not_cached(missing)
        return resolved

    def _resolve_held(self, session: str, request: TurnInput) -> tuple[TurnInput, str | None]:
        """The request resolved from what this worker holds, or what it lacks."""
        update: dict = {}
        if request.recent_refs or request.recent_span is not None:
            resolved = (
                self._turns.resolve_span(session, request.recent_span)
                if request.recent_span is not None
                else self._turns.resolve(session, request.recent_refs)
            )
            if resolved is None:
                return request, "the recent turns"
            update |= {"recent_turns": resolved, "recent_refs": [], "recent_span": None}
        else:
            self._turns.hold(session, request.recent_turns)
        if request.summary_digest and not request.summary:
            summary = self._turns.summary(session, request.summary_digest)
            if summary is None:
                return request, "the summary of older turns"
            update |= {"summary": summary, "summary_digest": ""}
        elif request.summary:
            self._turns.hold_summary(session, request.summary)
        return (request.model_copy(update=update) if update else request), None


def _not_cached(what: str) -> ApplicationError:
    return ApplicationError(
        f"{what} not held by this worker; the session sends the context verbatim",
        type=CONTEXT_NOT_CACHED_ERROR,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,  # expected: not logged as a failure
    )


class RecentTurns:
    """The recent turns of the sessions this worker served, so a session can name them by
    reference instead of sending them in every `run_turn` input (history per turn shrinks by the
    whole context). A worker that does not hold one answers ContextNotCached and the session
    sends the turns verbatim: after a restart, or when another worker ran the session's last turn.

    Least recently used sessions go first past `max_sessions` or `max_bytes` (prompts and replies).
    """

    def __init__(self, max_sessions: int = 2000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._sessions: OrderedDict[str, tuple[list[Turn], int]] = OrderedDict()
        self._bytes = 0
        self._max_sessions, self._max_bytes = max_sessions, max_bytes
        # Each session's latest summary of older turns, by digest, within the same bounds.
        self._summaries: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._summary_bytes = 0

    def hold_summary(self, session: str, summary: str) -> None:
        self._drop_summary(session)
        self._summaries[session] = (text_digest(summary), summary)
        self._summary_bytes += len(summary)
        while self._summaries and (
            len(self._summaries) > self._max_sessions or self._summary_bytes > self._max_bytes
        ):
            self._drop_summary(next(iter(self._summaries)))

    def summary(self, session: str, digest: str) -> str | None:
        """The session's summary when this worker holds the one `digest` names."""
        held = self._summaries.get(session)
        if held is None or held[0] != digest:
            return None
        self._summaries.move_to_end(session)
        return held[1]

    def _drop_summary(self, session: str) -> None:
        held = self._summaries.pop(session, None)
        if held is not None:
            self._summary_bytes -= len(held[1])

    def hold(self, session: str, turns: list[Turn]) -> None:
        self.drop(session)
        if not turns:
            return
        size = sum(len(t.prompt) + len(t.reply) for t in turns)
        self._sessions[session] = (list(turns), size)
        self._bytes += size
        while self._sessions and (len(self._sessions) > self._max_sessions or self._bytes > self._max_bytes):
            self.drop(next(iter(self._sessions)))

    def drop(self, session: str) -> None:
        held = self._sessions.pop(session, None)
        if held is not None:
            self._bytes -= held[1]

    def resolve_span(self, session: str, span: TurnSpan) -> list[Turn] | None:
        """The turns `span` names, in order, when every one is held with the same content."""
        held = self._sessions.get(session)
        if held is None or not 0 < span.count <= len(held[0]):
            return None
        self._sessions.move_to_end(session)
        # Not always consecutive numbers: a failed turn takes a number but stays out of context.
        found = [t for t in held[0] if t.turn >= span.first_turn][: span.count]
        if len(found) != span.count or span_digest(found) != span.digest:
            return None
        return found

    def resolve(self, session: str, refs: list[TurnRef]) -> list[Turn] | None:
        """The turns `refs` name, in order, when every one is held with the same content."""
        held = self._sessions.get(session)
        if held is None:
            return None
        self._sessions.move_to_end(session)
        by_turn = {t.turn: t for t in held[0]}
        found = []
        for ref in refs:
            turn = by_turn.get(ref.turn)
            if turn is None or turn.invocation_id != ref.invocation_id or turn_digest(turn) != ref.digest:
                return None
            found.append(turn)
        return found


async def _one_turn(request: TurnInput) -> TurnResult:
    """The brief and, when the mode is allowed, the model call of one turn (context resolved)."""
    # File reads, YAML and regex matching run off the event loop that serves every role.
    brief, call = await asyncio.to_thread(_prepare, request)
    result = TurnResult(
        role=brief.role,
        title=brief.title,
        allowed_modes=brief.allowed_modes,
        model=brief.model,
        policy_version=brief.policy_version,
        policy_sha256=brief.policy_sha256,
        skill_policy_version=brief.skill_policy_version,
        skill_policy_sha256=brief.skill_policy_sha256,
        skills=brief.skills,
    )
    if request.skills_digest and brief.skills is not None:
        if text_digest(brief.skills.model_dump_json()) == request.skills_digest:
            result.skills, result.skills_unchanged = None, True  # the session holds it
    if call is None:
        result.refused = (
            f"mode {request.mode!r} is not allowed for role {brief.role!r}; "
            f"allowed: {', '.join(brief.allowed_modes)}"
        )
        return result
    try:
        result.reply = await call_model(call)  # heartbeats, tracing span, reply bound
    except ApplicationError as err:
        # The same failure, with what was loaded as its details, so the session's failed
        # artifact still carries the skill evidence.
        raise ApplicationError(
            err.message,
            result,
            type=err.type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
        ) from None
    return result


def _turn_of(request: TurnInput, result: TurnResult) -> Turn:
    """The verbatim turn the session keeps for a reply (the same bound as the session's)."""
    reply = result.reply.reply if result.reply else ""
    if len(reply.encode()) > MAX_REPLY_BYTES:
        reply = reply.encode()[:MAX_REPLY_BYTES].decode(errors="ignore")
    brief = request.brief
    return Turn(turn=request.turn, invocation_id=brief.invocation_id, prompt=brief.prompt, reply=reply)


def _heartbeated(batch: TurnBatchInput) -> TurnBatchResult:
    """What an earlier attempt of this batch finished (its last heartbeat), or nothing."""
    details = activity.info().heartbeat_details
    if not details:
        return TurnBatchResult()
    try:  # decoded without a type hint: the JSON object of a TurnBatchResult
        done = TurnBatchResult.model_validate(details[0])
    except ValueError:  # not one: run the batch again
        return TurnBatchResult()
    count = min(len(done.results), len(done.turns), len(done.durations_ms), 1 + len(batch.more))
    return TurnBatchResult(
        results=done.results[:count], turns=done.turns[:count], durations_ms=done.durations_ms[:count]
    )


def _result_bytes(result: TurnBatchResult) -> int:
    return len(result.model_dump_json().encode())


def _prepare(request: TurnInput) -> tuple[RoleBrief, ModelCallInput | None]:
    """The brief (PolicyError when the policy cannot be used) and the model input, or None when
    the mode is not allowed."""
    brief = load_role_brief(request.brief)
    if request.mode not in brief.allowed_modes:
        return brief, None
    call = ModelCallInput(
        plan_id=request.brief.plan_id,
        role=request.brief.role,
        invocation_id=request.brief.invocation_id,
        turn=request.turn,
        system_prompt=brief.system_prompt,
        summary=request.summary,
        recent_turns=request.recent_turns,
        prompt=request.brief.prompt,
        model=brief.model,
    )
    size = len(call.model_dump_json().encode())
    if size > MAX_ACTIVITY_INPUT_BYTES:
        raise ApplicationError(
            f"model input would be {size} bytes, over the {MAX_ACTIVITY_INPUT_BYTES}-byte limit: "
            "shorten the prompt or the role's skills",
            type=MODEL_INPUT_TOO_LARGE_ERROR,
            non_retryable=True,
        )
    return brief, call
