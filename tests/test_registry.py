"""The role registry: lookups users make and the errors they see for a broken policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from roleteam.errors import InvalidInputError, PolicyError, UnknownRoleError
from roleteam.registry import load_role_registry, validate_plan_id
from tests.helpers import ROOT

CANONICAL = ["lead", "planner", "developer", "validator", "release-manager"]


@pytest.fixture
def registry():
    return load_role_registry()


def write_policy(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((ROOT / "policies" / "roles.yaml").read_text())
    mutate(data)
    path = tmp_path / "roles.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_registry_has_the_canonical_roles(registry):
    assert list(registry.roles) == CANONICAL
    for spec in registry.roles.values():
        assert spec.title and spec.mission and spec.responsibilities
        assert spec.execution_modes.default in spec.execution_modes.allowed
    assert registry.roles["lead"].reports_to is None
    assert {s.reports_to for s in registry.roles.values() if s.id != "lead"} == {"lead"}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("lead", "lead"),
        ("PM", "lead"),
        ("Lead / PM", "lead"),
        ("  QA ", "validator"),
        ("Release Manager", "release-manager"),
        ("dev", "developer"),
        ("ARCHITECT", "planner"),
    ],
)
def test_lookup_by_id_title_or_alias_ignoring_case(registry, name, expected):
    assert registry.resolve(name).id == expected


def test_unknown_role_lists_the_valid_ones(registry):
    with pytest.raises(UnknownRoleError) as err:
        registry.resolve("wizard")
    assert "'wizard'" in str(err.value)
    for role in CANONICAL:
        assert role in str(err.value)


@pytest.mark.parametrize("plan_id", ["p", "plan-1", "Q4.release_2", "a" * 64])
def test_valid_plan_ids_are_kept_verbatim(plan_id):
    assert validate_plan_id(plan_id) == plan_id


@pytest.mark.parametrize("plan_id", ["", "-lead", "a b", "plan/1", "a" * 65, "plan:1", "é", "p\n"])
def test_invalid_plan_ids_are_refused_not_slugified(plan_id):
    with pytest.raises(InvalidInputError, match="invalid plan id"):
        validate_plan_id(plan_id)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["roles"]["lead"].update(colour="red"), "roles.lead.colour: unknown key"),
        (lambda d: d["roles"]["planner"].update(reports_to="ceo"), "roles.planner.reports_to: 'ceo'"),
        (lambda d: d["roles"]["developer"].update(aliases=["qa"]), "name 'qa' is already used"),
        (
            lambda d: d["roles"]["developer"]["execution_modes"].update(default="batch"),
            "roles.developer.execution_modes.default",
        ),
        (
            lambda d: d["roles"]["lead"]["execution_modes"].update(default="delegated"),
            "default mode 'delegated' is not in allowed",
        ),
        (
            lambda d: d["roles"].update({"Bad_Role": d["roles"]["lead"] | {"aliases": [], "title": "X"}}),
            "roles.Bad_Role: role ids are lower-case",
        ),
        (lambda d: d["roles"]["validator"].pop("mission"), "roles.validator.mission: Field required"),
    ],
)
def test_broken_registry_names_file_key_and_fix(tmp_path, mutate, message):
    path = write_policy(tmp_path, mutate)
    with pytest.raises(PolicyError) as err:
        load_role_registry(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_or_non_yaml_registry_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read role registry.*ROLETEAM_POLICY_DIR"):
        load_role_registry(tmp_path / "nope.yaml")
    bad = tmp_path / "roles.yaml"
    bad.write_text("roles: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_role_registry(bad)
