"""Pieces without Microsoft: counting devices, defusing CSV formulas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compliance.export import csv_cell, csv_lines
from compliance.tally import device_is_stale, tally_devices

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_devices_are_counted_per_state_and_system_and_unknown_states_count_as_unknown():
    devices = [
        {"complianceState": "compliant", "operatingSystem": "Windows"},
        {"complianceState": "noncompliant", "operatingSystem": "iOS"},
        {"complianceState": "somethingNew", "operatingSystem": "Windows"},
        {"operatingSystem": None},
    ]
    tally = tally_devices(devices, stale_before=NOW)
    assert tally.total == 4
    assert tally.states == {"compliant": 1, "noncompliant": 1, "unknown": 2}
    assert tally.systems == {"Windows": 2, "iOS": 1, "Unknown": 1}
    assert tally.compliance_rate == 0.25
    fields = tally.snapshot_fields()
    assert fields["compliant"] == 1 and fields["unknown"] == 2 and fields["device_total"] == 4


def test_a_device_is_stale_when_it_has_not_synced_since_the_cutoff_or_never():
    assert device_is_stale({"lastSyncDateTime": "2026-10-01T00:00:00Z"}, stale_before=NOW)
    assert not device_is_stale({"lastSyncDateTime": "2026-11-26T08:00:00Z"}, stale_before=NOW)
    assert device_is_stale({"lastSyncDateTime": "0001-01-01T00:00:00Z"}, stale_before=NOW)
    assert device_is_stale({}, stale_before=NOW)


def test_an_empty_tenant_has_no_compliance_rate():
    assert tally_devices([], stale_before=NOW).compliance_rate is None


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_text_a_spreadsheet_would_evaluate_gets_a_quote_in_front(text):
    assert csv_cell(text) == "'" + text


def test_ordinary_text_and_numbers_are_left_alone():
    assert csv_cell("Contoso") == "Contoso"
    assert csv_cell(-5) == -5
    assert csv_cell(0.5) == 0.5


def test_csv_lines_quote_commas_and_defuse_every_cell():
    lines = list(csv_lines(header=["a", "b"], rows=[["x,y", "=cmd|' /C calc'!A0"]]))
    assert lines[0] == "\ufeffa,b\r\n"  # UTF-8 with BOM: Excel reads accented names right
    assert lines[1] == "\"x,y\",'=cmd|' /C calc'!A0\r\n"
