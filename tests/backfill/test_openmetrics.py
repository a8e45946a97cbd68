"""The OpenMetrics writer's escaping and the validator that guards promtool's input."""

from __future__ import annotations

import pytest

from rq_obs.backfill.openmetrics import (escape_label_value, family_header, format_timestamp, format_value,
                                         series_prefix, validate)
from rq_obs.catalog import M
from rq_obs.errors import InputError

GOOD = (
    "# TYPE rqobs_test_runs counter\n"
    "# HELP rqobs_test_runs Test runs recorded, by completion status.\n"
    'rqobs_test_runs_total{suite="a",status="complete"} 1 1700000000\n'
    'rqobs_test_runs_total{suite="a",status="complete"} 2 1700000300\n'
    "# TYPE rqobs_test_run_sequence gauge\n"
    'rqobs_test_run_sequence{suite="a"} 2 1700000300\n'
    "# EOF\n"
)


def write(tmp_path, text: str):
    p = tmp_path / "h.om"
    p.write_text(text)
    return p


def test_label_values_escape_backslash_quote_and_newline():
    raw = 'test_x["a\\b"]\nnext'
    assert escape_label_value(raw) == 'test_x[\\"a\\\\b\\"]\\nnext'
    assert series_prefix("m_total", [("test", raw), ("empty", "")]) == 'm_total{test="test_x[\\"a\\\\b\\"]\\nnext"}'


def test_values_and_timestamps_are_plain_numbers_in_seconds():
    assert [format_value(v) for v in (3.0, 0.25, float("inf"), float("nan"))] == ["3", "0.25", "+Inf", "NaN"]
    assert format_timestamp(1700000000.0) == "1700000000"
    assert format_timestamp(1700000000.5) == "1700000000.500"


def test_family_header_has_unit_only_when_the_name_ends_with_it():
    assert family_header(M.TEST_DURATION_SECONDS) == (
        "# TYPE rqobs_test_duration_seconds counter\n# UNIT rqobs_test_duration_seconds seconds\n"
        "# HELP rqobs_test_duration_seconds Total time spent in a test's attempts.\n")
    assert "# UNIT" not in family_header(M.TEST_RUNS)


def test_a_good_file_is_counted(tmp_path):
    report = validate(write(tmp_path, GOOD))
    assert (report.families, report.series, report.samples) == (2, 2, 3)
    assert (report.min_timestamp, report.max_timestamp) == (1700000000, 1700000300)


@pytest.mark.parametrize("broken, message", [
    (GOOD.replace("2 1700000300\n# TYPE", "2 1700000300000\n# TYPE"),
     "line 4: timestamp 1700000300000 of rqobs_test_runs_total looks like milliseconds; OpenMetrics timestamps are "
     "Unix time in seconds"),
    (GOOD.replace(" 2 1700000300\n# TYPE", " 2 1699999999\n# TYPE"),
     "line 4: timestamp 1699999999 of series rqobs_test_runs_total{suite=\"a\",status=\"complete\"} is not after "
     "its previous sample (1700000000)"),
    (GOOD.replace(" 2 1700000300\n# TYPE", " 2 1700000000\n# TYPE"), "is not after its previous sample"),
    (GOOD[: -len("# EOF\n")], "line 7: missing '# EOF' at the end of the file"),
    (GOOD[:-1], "the file must end with '# EOF' and a newline"),
    (GOOD + 'x 1 1700000000\n', "line 8: text after '# EOF' (line 7)"),
    (GOOD.replace("# EOF\n", 'rqobs_test_runs_total{suite="b",status="complete"} 1 1700000000\n# EOF\n'),
     "line 7: sample 'rqobs_test_runs_total' of family 'rqobs_test_runs' is not contiguous: the family started "
     "on line 1"),
    (GOOD.replace("# EOF\n", "# TYPE rqobs_test_runs counter\n# EOF\n"),
     "line 7: family 'rqobs_test_runs' is not contiguous: it started on line 1"),
    (GOOD.replace(" 1 1700000000\n", " 1\n"), "line 3: sample rqobs_test_runs_total has no timestamp"),
    (GOOD.replace(" 1 1700000000\n", " one 1700000000\n"), "line 3: value 'one' of rqobs_test_runs_total is not a number"),
    (GOOD.replace('suite="a",status', 'suite="a,status'), "line 3: not a sample line"),
    (GOOD.replace("# HELP", "# COMMENT"), "line 2: expected '# TYPE|HELP|UNIT <name> ...' or '# EOF'"),
])
def test_broken_files_are_rejected_naming_the_line(tmp_path, broken, message):
    p = write(tmp_path, broken)
    with pytest.raises(InputError) as exc:
        validate(p)
    assert str(exc.value).startswith(f"{p}: line ")
    assert message in str(exc.value)
