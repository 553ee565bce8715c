"""Reading findings out of replies: every accepted format, every reject, and hostile replies."""

from __future__ import annotations

import json

from roleteam import constants as c
from roleteam.workflows.findings import parse_reply

FINDING = {"title": "Empty URL accepted", "description": "201 for an empty url", "severity": "High"}


def test_fenced_json_with_a_findings_list():
    reply = parse_reply("Checked.\n```json\n" + json.dumps({"findings": [FINDING, FINDING]}) + "\n```\nDone.")
    assert [f.severity for f in reply.findings] == ["high", "high"]
    assert reply.findings[0].title == "Empty URL accepted" and not reply.skipped


def test_unlabelled_fence_bare_object_and_single_finding():
    unlabelled = parse_reply("```\n" + json.dumps(FINDING) + "\n```")
    bare = parse_reply(json.dumps({"findings": [FINDING]}))
    inline = parse_reply("Summary first.\n" + json.dumps({**FINDING, "id": "v-7"}) + "\nthanks")
    assert len(unlabelled.findings) == len(bare.findings) == len(inline.findings) == 1
    assert inline.findings[0].source_id == "v-7"


def test_code_blocks_that_are_not_json_are_ignored_silently():
    reply = parse_reply("```python\nprint({'a': 1})\n```\n```\nnot json at all\n```")
    assert reply.empty


def test_invalid_items_are_skipped_with_the_reason():
    items = [
        {"title": "no description", "severity": "low"},
        {"description": "no title", "severity": "low"},
        {**FINDING, "severity": "urgent"},
        "just a string",
        FINDING,
    ]
    reply = parse_reply("```json\n" + json.dumps({"findings": items}) + "\n```")
    assert len(reply.findings) == 1
    reasons = [s.reason for s in reply.skipped]
    assert "'description' is missing" in reasons[0]
    assert "'title' is missing" in reasons[1]
    assert "severity 'urgent' is not one of critical, high, medium, low, info" in reasons[2]
    assert "must be a JSON object" in reasons[3]
    assert [s.index for s in reply.skipped] == [1, 2, 3, 4]


def test_malformed_json_is_reported_not_raised():
    reply = parse_reply('```json\n{"findings": [ {"title": "x",\n```')
    assert not reply.findings
    assert reply.skipped[0].kind == "json" and "not valid JSON" in reply.skipped[0].reason


def test_ten_thousand_findings_are_bounded_and_reported():
    reply = parse_reply("```json\n" + json.dumps({"findings": [FINDING] * 10_000}) + "\n```")
    assert len(reply.findings) == c.MAX_FINDINGS_PER_REPLY
    assert len(reply.skipped) == c.MAX_SKIPPED_PER_REPLY
    assert "over the limit of 50 findings per reply" in reply.skipped[0].reason


def test_megabytes_of_text_and_hostile_shapes_stay_bounded():
    huge = "x" * 3_000_000 + "\n```json\n{"
    cut = parse_reply(huge)
    assert cut.scanned_chars == c.MAX_REPLY_SCAN_CHARS and "not closed" not in str(cut.skipped)
    assert "not closed" in parse_reply("x" * 100 + "\n```json\n{").skipped[0].reason
    nested = "```json\n" + "[" * 100_000 + "]" * 100_000 + "\n```"
    assert "not valid JSON" in parse_reply(nested).skipped[0].reason
    unclosed = "\n".join(['{"findings": [' for _ in range(20_000)])
    assert parse_reply(unclosed).empty
    long_fields = {**FINDING, "title": "t" * 5000, "description": "d\x1b[2J" * 5000, "files": ["a"] * 500}
    [finding] = parse_reply(json.dumps(long_fields)).findings
    assert len(finding.title) == c.MAX_FINDING_TITLE_CHARS and finding.title.endswith("[clipped]")
    assert "\x1b" not in finding.description and len(finding.description) <= c.MAX_FINDING_TEXT_CHARS
    assert len(finding.files) == c.MAX_FINDING_FILES


def test_reviews_dispatch_and_revalidations():
    text = (
        "```json\n"
        + json.dumps(
            {
                "reviews": [
                    {
                        "finding": "F-0001",
                        "decision": "Accept",
                        "reason": "yes",
                        "assign": "developer",
                        "dispatch": True,
                    },
                    {"finding": "F-0002", "decision": "maybe"},
                    {"finding": "nope", "decision": "reject"},
                ],
                "dispatch": ["F-0003", {"finding": "F-0004"}, 7],
                "revalidations": [{"finding": "F-0001", "verdict": "not-resolved"}, {"finding": "F-0002"}],
            }
        )
        + "\n```"
    )
    reply = parse_reply(text)
    assert [(r.finding_id, r.decision, r.dispatch) for r in reply.reviews] == [("F-0001", "accept", True)]
    assert reply.dispatch == ["F-0003", "F-0004"]
    assert [(v.finding_id, v.verdict) for v in reply.revalidations] == [("F-0001", "not_resolved")]
    assert [s.kind for s in reply.skipped] == ["review", "review", "dispatch", "revalidation"]
