"""Reading findings, Lead decisions and revalidation verdicts out of a role's reply.

Pure and deterministic (it runs inside RoleSession, on every replay alike) and bounded whatever
the reply holds: at most `MAX_REPLY_SCAN_CHARS` are scanned, at most `MAX_JSON_CANDIDATES` JSON
texts are decoded, at most `MAX_FINDINGS_PER_REPLY` findings taken; every item not taken is
listed with the reason. It never raises.

Accepted shapes: fenced JSON (```json … ```), an unlabelled fenced block holding JSON, or, when a
reply has no fenced JSON, a bare JSON object (the whole reply, or one starting a line). Each JSON
object may be `{"findings": [...]}`, a single finding (`title` plus `severity` or
`description`), and for the Lead `{"reviews": [...]}` and `{"dispatch": [...]}`, and for a
revalidating role `{"revalidations": [...]}`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import roleteam.constants as c
from roleteam.report_models import (
    ReplyFindings,
    RevalidationVerdict,
    ReviewDecision,
    SkippedItem,
    SubmittedFinding,
)

FENCE = re.compile(r"```([A-Za-z0-9_-]*)[ \t]*\n(.*?)```", re.DOTALL)
FINDING_ID = re.compile(r"F-\d{4,9}")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CLIPPED = " …[clipped]"


def parse_reply(text: str) -> ReplyFindings:
    """Everything the reply submits to the plan, validated and bounded."""
    result = ReplyFindings(scanned_chars=min(len(text), c.MAX_REPLY_SCAN_CHARS))
    objects, problems = _json_objects(text[: c.MAX_REPLY_SCAN_CHARS])
    for index, reason in problems:
        _skip(result, index, "json", reason)
    finding_index = 0
    for obj in objects:
        for item in _finding_items(obj):
            finding_index += 1
            _take_finding(result, finding_index, item)
        for key, kind in (("reviews", "review"), ("dispatch", "dispatch"), ("revalidations", "revalidation")):
            items = obj.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                _skip(result, 0, kind, f"'{key}' must be a list")
                continue
            for position, item in enumerate(items, 1):
                _take_decision(result, kind, position, item)
    return result


def _json_objects(text: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """Decoded JSON objects, and (index, reason) for candidates that were not JSON objects."""
    fenced = [(label.lower(), body) for label, body in FENCE.findall(text) if label.lower() in ("json", "")]
    candidates: list[str] = []
    problems: list[tuple[int, str]] = []
    for label, body in fenced:
        stripped = body.strip()
        if label == "json" or stripped.startswith(("{", "[")):
            candidates.append(stripped)
    opened = len(re.findall(r"```json[ \t]*\n", text, re.IGNORECASE))
    closed = sum(1 for label, _ in fenced if label == "json")
    if opened > closed:
        problems.append((closed + 1, "a ```json block is not closed (the reply may have been cut off)"))
    if not candidates:
        candidates = _bare_objects(text)
    objects: list[dict] = []
    for index, candidate in enumerate(candidates[: c.MAX_JSON_CANDIDATES], 1):
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError) as err:
            problems.append((index, f"not valid JSON ({_one_line(str(err))[:120]})"))
            continue
        if isinstance(value, dict):
            objects.append(value)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value[:1]):
            objects.append({"findings": value})
        else:
            problems.append((index, f"a JSON {type(value).__name__}, not an object"))
    if len(candidates) > c.MAX_JSON_CANDIDATES:
        problems.append(
            (
                c.MAX_JSON_CANDIDATES + 1,
                f"{len(candidates) - c.MAX_JSON_CANDIDATES} more JSON blocks not read",
            )
        )
    return objects, problems


def _bare_objects(text: str) -> list[str]:
    """JSON objects not in a fence: the whole reply, else each one that starts a line."""
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        return [stripped]
    found: list[str] = []
    decoder = json.JSONDecoder()
    # Each attempt may scan to the end of the text, so attempts (not just finds) are bounded.
    for attempt, match in enumerate(re.finditer(r"(?m)^[ \t]*\{", text)):
        if len(found) >= c.MAX_JSON_CANDIDATES or attempt >= 2 * c.MAX_JSON_CANDIDATES:
            break
        start = match.end() - 1
        try:
            _, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        found.append(text[start:end])
    return found


def _finding_items(obj: dict) -> list[Any]:
    if "findings" in obj:
        items = obj["findings"]
        return items if isinstance(items, list) else [items]
    if "title" in obj and ("severity" in obj or "description" in obj):
        return [obj]
    return []


def _take_finding(result: ReplyFindings, index: int, item: Any) -> None:
    if len(result.findings) >= c.MAX_FINDINGS_PER_REPLY:
        _skip(result, index, "finding", f"over the limit of {c.MAX_FINDINGS_PER_REPLY} findings per reply")
        return
    finding = validate_finding(item)
    if isinstance(finding, str):
        _skip(result, index, "finding", finding)
    else:
        result.findings.append(finding)


def validate_finding(item: Any) -> SubmittedFinding | str:
    """A finding item validated and bounded, or the reason it is not taken."""
    if not isinstance(item, dict):
        return f"a finding must be a JSON object, got {type(item).__name__}"
    title = _text(item.get("title"))
    if not title:
        return "'title' is missing or empty"
    description = _text(item.get("description"))
    if not description:
        return f"finding {_quote(title)}: 'description' is missing or empty"
    severity = item.get("severity")
    if not isinstance(severity, str) or severity.strip().lower() not in c.SEVERITIES:
        return f"finding {_quote(title)}: severity {_quote(severity)} is not one of {', '.join(c.SEVERITIES)}"
    evidence = item.get("evidence", "")
    if isinstance(evidence, list):
        evidence = "\n".join(_text(e) for e in evidence[:50] if _text(e))
    files = item.get("files", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list):
        return f"finding {_quote(title)}: 'files' must be a list of paths"
    source_id = item.get("id", item.get("source_id"))
    if source_id is not None and not isinstance(source_id, (str, int)):
        return f"finding {_quote(title)}: 'id' must be a string"
    return SubmittedFinding(
        title=clip(title, c.MAX_FINDING_TITLE_CHARS),
        description=clip(description, c.MAX_FINDING_TEXT_CHARS),
        severity=severity.strip().lower(),
        evidence=clip(_text(evidence), c.MAX_FINDING_TEXT_CHARS),
        files=[clip(_text(f), c.MAX_FILE_PATH_CHARS) for f in files if _text(f)][: c.MAX_FINDING_FILES],
        source_id=clip(str(source_id).strip(), c.MAX_SOURCE_ID_CHARS)
        if source_id not in (None, "")
        else None,
    )


def _take_decision(result: ReplyFindings, kind: str, position: int, item: Any) -> None:
    taken = len(result.reviews) + len(result.dispatch) + len(result.revalidations)
    if taken >= c.MAX_DECISIONS_PER_REPLY:
        _skip(result, position, kind, f"over the limit of {c.MAX_DECISIONS_PER_REPLY} decisions per reply")
        return
    if kind == "dispatch":
        finding_id = item if isinstance(item, str) else _finding_ref(item)
        if not isinstance(finding_id, str) or not FINDING_ID.fullmatch(finding_id):
            _skip(result, position, kind, f"{_quote(item)} does not name a finding id like 'F-0001'")
        else:
            result.dispatch.append(finding_id)
        return
    if not isinstance(item, dict):
        _skip(result, position, kind, f"a {kind} must be a JSON object")
        return
    finding_id = _finding_ref(item)
    if not isinstance(finding_id, str) or not FINDING_ID.fullmatch(finding_id):
        _skip(result, position, kind, f"'finding' {_quote(finding_id)} is not a finding id like 'F-0001'")
        return
    reason = clip(_text(item.get("reason")), c.MAX_REASON_CHARS)
    if kind == "review":
        decision = _text(item.get("decision")).lower()
        if decision not in ("accept", "reject", "defer", "clarify"):
            _skip(
                result,
                position,
                kind,
                f"decision {_quote(item.get('decision'))} is not accept, reject, defer or clarify",
            )
            return
        assign = item.get("assign")
        result.reviews.append(
            ReviewDecision(
                finding_id=finding_id,
                decision=decision,
                reason=reason,
                assign=_text(assign)[:40] or None if isinstance(assign, str) else None,
                dispatch=item.get("dispatch") is True,
            )
        )
    else:
        verdict = _text(item.get("verdict", item.get("result"))).lower().replace("-", "_")
        if verdict not in ("resolved", "not_resolved"):
            _skip(
                result,
                position,
                kind,
                f"verdict {_quote(item.get('verdict'))} is not resolved or not_resolved",
            )
            return
        result.revalidations.append(
            RevalidationVerdict(finding_id=finding_id, verdict=verdict, reason=reason)
        )


def _finding_ref(item: Any) -> Any:
    if isinstance(item, dict):
        for key in ("finding", "finding_id", "id"):
            if key in item:
                return item[key]
    return None


def _skip(result: ReplyFindings, index: int, kind: str, reason: str) -> None:
    if len(result.skipped) < c.MAX_SKIPPED_PER_REPLY:
        result.skipped.append(SkippedItem(index=index, kind=kind, reason=reason[:300]))


def _text(value: Any) -> str:
    """A string field as text without control characters (newlines and tabs kept)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    return CONTROL.sub("", value).strip()


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - len(CLIPPED)] + CLIPPED


def _quote(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
