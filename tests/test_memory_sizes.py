"""The sizes and times the workflow computes on every activation are the ones it computed before
they were made cheaper: a different answer on replay would change what a session decides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from roleteam.timefmt import format_time
from roleteam.workflows.context import json_bytes


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_json_bytes_is_the_size_json_dumps_gives(text):
    # Escapes, control characters, quotes, backslashes and non-ASCII all count as json.dumps does.
    assert json_bytes(text) == len(json.dumps(text, ensure_ascii=False).encode())


def test_json_bytes_counts_escapes_and_multibyte_characters():
    assert json_bytes("") == 2
    assert json_bytes('a"b\\c\n\x01') == len('"a\\"b\\\\c\\n\\u0001"')
    assert json_bytes("naïve ☃") == 2 + len("naïve ☃".encode())


def test_format_time_is_utc_to_the_second_for_every_kind_of_moment():
    moment = datetime(2026, 11, 25, 10, 14, 42, 999_000, tzinfo=UTC)
    assert format_time(moment) == "2026-11-25 10:14:42 UTC"
    assert format_time(moment) == "2026-11-25 10:14:42 UTC"  # again, from the cache
    assert format_time(moment.replace(tzinfo=None)) == "2026-11-25 10:14:42 UTC"  # naive is UTC
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert format_time(plus_two) == "2026-11-25 10:14:42 UTC"
    assert format_time(None) == "-"
