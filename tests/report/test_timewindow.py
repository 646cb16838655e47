"""``--since`` values."""

from datetime import datetime, timedelta, timezone

import pytest

from vigil.timewindow import parse_since

NOW = datetime(2026, 12, 2, 12, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("30d", NOW - timedelta(days=30)), ("12h", NOW - timedelta(hours=12)), (" 2W ", NOW - timedelta(weeks=2)),
    ("90m", NOW - timedelta(minutes=90)), ("2026-11-01", datetime(2026, 11, 1, tzinfo=timezone.utc)),
    ("2026-11-01T08:00:00", datetime(2026, 11, 1, 8, tzinfo=timezone.utc)),
    ("2026-11-01T08:00:00+02:00", datetime(2026, 11, 1, 6, tzinfo=timezone.utc)),
    ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=timezone.utc)), ("", None), (None, None),
])
def test_since_forms(text, expected):
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "30", "-3d", "2026-13-01", "30y"])
def test_bad_since_names_the_accepted_forms(text):
    with pytest.raises(ValueError, match="30d, 12h, 2w or 90m"):
        parse_since(text, now=NOW)
