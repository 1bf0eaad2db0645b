"""The services refuse what would only fail later or mislead: deliveries to integrations that do not exist (on a
template's save, an export request's overrides, a schedule's overrides), and names holding control or bidirectional
formatting characters (templates, schedules, integrations, API keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidRequest, NotFound
from engine.services import apikeys, integrations, schedules
from engine.services import templates as svc
from engine.services.exports import resolve_request
from engine.services.names import check_name
from engine.settings import Settings

SPEC = {"format": "csv", "columns": [{"header": "SKU", "source": "sku"}]}
NOWHERE = [{"integration": "integ-qui-nexiste-pas", "path": "shopify/{date}/"}]


def folder(settings: Settings, tmp_path: Path, name: str = "drop") -> None:
    target = tmp_path / name
    target.mkdir()
    integrations.create_integration(settings, name, "local", {"folder": str(target)}, {})


def test_a_template_delivering_to_an_unknown_integration_is_refused(db: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"deliveries\[0\]\.integration: no integration named 'integ-qui"):
        svc.create_template("Shop", {**SPEC, "deliveries": NOWHERE})
    with pytest.raises(NotFound):
        svc.get_template("Shop")  # nothing was saved
    folder(db, tmp_path)
    svc.create_template("Shop", {**SPEC, "deliveries": [{"integration": "drop", "path": "x/"}]})
    both = [{"integration": "drop"}, *NOWHERE]
    with pytest.raises(InvalidRequest, match=r"deliveries\[1\]\.integration: no integration named"):
        svc.update_template("Shop", spec={**SPEC, "deliveries": both})
    assert svc.get_template("Shop").version == 1
    (problem,) = svc.spec_problems({**SPEC, "deliveries": both})
    assert problem.path == "deliveries" and "integ-qui-nexiste-pas" in problem.message
    assert svc.spec_problems({**SPEC, "deliveries": [{"integration": "drop"}]}) == []


def test_export_and_schedule_overrides_delivering_nowhere_are_refused(db: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"deliveries\[0\]\.integration: no integration named"):
        resolve_request("Standard CSV", {"deliveries": NOWHERE})
    with pytest.raises(InvalidRequest, match=r"deliveries\[0\]\.integration: no integration named"):
        schedules.create_schedule(
            db,
            "Monday",
            {"template": "Standard CSV", "frequency": "weekly mon 06:00", "overrides": {"deliveries": NOWHERE}},
        )
    assert schedules.list_schedules() == []
    folder(db, tmp_path)
    assert resolve_request("Standard CSV", {"deliveries": [{"integration": "drop"}]}).spec.deliveries
    schedules.create_schedule(
        db, "Monday", {"template": "Standard CSV", "frequency": "weekly mon 06:00",
                       "overrides": {"deliveries": [{"integration": "drop"}]}},
    )  # fmt: skip


@pytest.mark.parametrize(
    "hostile",
    ["Prix \u202eésrevni", "a\u2066b", "a\u2069", "tab\there", "new\nline", "zero\u200bw", "nul\x00", "ls\u2028x"],
)
def test_names_with_control_or_bidi_characters_are_refused(db: Settings, tmp_path: Path, hostile: str) -> None:
    message = r"name: must not contain control or invisible formatting characters .*found U\+"
    with pytest.raises(InvalidRequest, match=message):
        svc.create_template(hostile, SPEC)
    svc.create_template("Fine", SPEC)
    with pytest.raises(InvalidRequest, match="new_" + message):
        svc.update_template("Fine", new_name=hostile)
    with pytest.raises(InvalidRequest, match=message):
        svc.copy_template("Fine", hostile)
    with pytest.raises(InvalidRequest, match=message):
        schedules.create_schedule(db, hostile, {"template": "Fine", "frequency": "daily 06:00"})
    with pytest.raises(InvalidRequest, match=message):
        integrations.create_integration(db, hostile, "local", {"folder": str(tmp_path)}, {})
    with pytest.raises(InvalidRequest, match=message):
        apikeys.create_api_key(hostile, "reader")
    assert [t.name for t in svc.list_templates() if not t.predefined] == ["Fine"]
    assert schedules.list_schedules() == [] and integrations.list_integrations(db) == []


def test_ordinary_names_pass_trimmed() -> None:
    for name in ("Prix 🚀 « été »", "Zoë/Ünïcode ? # %", "日本語のテンプレート", "x" * 128):
        assert check_name(f"  {name} ") == name
    with pytest.raises(InvalidRequest, match="name: must be 1 to 128 characters"):
        check_name("x" * 129)
    with pytest.raises(InvalidRequest, match="a template needs a name"):
        check_name("  ", missing="a template needs a name")
