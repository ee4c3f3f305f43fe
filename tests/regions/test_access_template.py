"""The region's GDAP access for new customers, as admins write it (regions/access_template.py)."""

from __future__ import annotations

import pytest

from regions.access_template import access_template_parse, access_template_text

GROUP = "1b2c3d4e-0000-4000-8000-00000000000a"


def test_lines_become_groups_with_role_template_ids_and_back():
    entries = access_template_parse(
        f"\n{GROUP.upper()}: directory readers, Helpdesk Administrator\n"
    )
    assert entries == [
        {
            "group_id": GROUP,
            "roles": [
                "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
                "729827e3-9c14-49f7-bb1b-9608f156bbb8",
            ],
        }
    ]
    assert access_template_text(entries) == f"{GROUP}: Directory Readers, Helpdesk Administrator"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Helpdesk agents: Directory Readers", "not a group object id"),
        (f"{GROUP} Directory Readers", "a colon"),
        (f"{GROUP}: Chief Happiness Officer", "not an Entra role"),
        (f"{GROUP}:", "at least one role"),
        (f"{GROUP}: Directory Readers\n{GROUP}: Global Reader", "listed twice"),
    ],
)
def test_a_wrong_line_is_refused_naming_the_line_and_the_problem(text, says):
    with pytest.raises(ValueError, match=says) as caught:
        access_template_parse(text)
    assert "Line " in str(caught.value)
