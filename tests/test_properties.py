"""Property-based tests: whatever arrives, the request models and the policy loaders either accept
it or refuse it with a message naming the field; nothing else is ever raised."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roleteam.errors import PolicyError
from roleteam.models import ArtifactQuery, InvokeInput, LifecycleInput, SessionInput
from roleteam.registry import load_role_registry
from roleteam.safe_yaml import UntrustedYamlError, load_untrusted_yaml
from roleteam.skills import load_skill_policy
from roleteam.skills.loader import parse_skill_text
from roleteam.workflows.wire import parse_wire
from tests.helpers import ROOT

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def shaped_like(fields: list[str]):
    """Objects using the model's own field names with any values (the likeliest hostile input)."""
    return st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields)) | json_values


def check_decoded(model, raw) -> None:
    result = parse_wire(model, raw)
    if isinstance(result, str):
        assert result and "\n" not in result and len(result) <= 600
        if isinstance(raw, dict) and raw:
            assert ":" in result  # `field: what is wrong (got value)`
        return
    assert isinstance(result, model)
    problems = result.problems() if hasattr(result, "problems") else []
    if isinstance(result, SessionInput):
        problems = result.options.problems()
    assert all(isinstance(p, str) and p for p in problems)


@FAST
@given(shaped_like(["invocation_id", "prompt", "mode", "requested_by", "domains", "files", "extra"]))
def test_invoke_input_decodes_or_names_the_problem(raw):
    check_decoded(InvokeInput, raw)


@FAST
@given(
    st.fixed_dictionaries(
        {"invocation_id": st.text(max_size=200), "prompt": st.text(max_size=200)},
        optional={
            "domains": st.lists(st.text(max_size=300), max_size=40),
            "files": st.lists(st.text(max_size=1100), max_size=300),
            "requested_by": st.text(max_size=300) | st.none(),
            "mode": st.sampled_from(["persistent", "delegated", "scheduled", "other"]),
        },
    )
)
def test_well_typed_invoke_input_is_accepted_or_refused_naming_the_field(raw):
    result = parse_wire(InvokeInput, raw)
    if isinstance(result, str):
        assert "mode" in result
        return
    for problem in result.problems():
        assert problem.split("=")[0].split(" ")[0].split("[")[0] in {
            "invocation_id",
            "prompt",
            "requested_by",
            "domains",
            "files",
        }, problem


@FAST
@given(
    shaped_like(["plan_id", "role", "options", "carried"])
    | st.fixed_dictionaries(
        {"plan_id": st.text(max_size=70), "role": st.text(max_size=50)},
        optional={"options": shaped_like(["context_token_budget", "turns_per_run", "model_timeout_seconds"])},
    )
)
def test_session_input_decodes_or_names_the_problem(raw):
    check_decoded(SessionInput, raw)


@FAST
@given(shaped_like(["reason", "requested_by"]))
def test_lifecycle_input_decodes_or_names_the_problem(raw):
    check_decoded(LifecycleInput, raw)


@FAST
@given(shaped_like(["invocation_id"]))
def test_artifact_query_decodes_or_names_the_problem(raw):
    check_decoded(ArtifactQuery, raw)


@FAST
@given(st.text(max_size=400))
def test_untrusted_yaml_loads_or_is_refused(text):
    try:
        load_untrusted_yaml(text)
    except UntrustedYamlError as err:
        assert str(err)


@FAST
@given(st.text(max_size=300) | json_values.map(lambda v: yaml.safe_dump({"name": v, "description": v})))
def test_skill_front_matter_parses_or_names_the_problem(front):
    result = parse_skill_text("some-skill", f"---\n{front}\n---\nbody")
    assert isinstance(result, str | tuple)


def mutations(data):
    """(path into the policy, replacement value): any key of the real policy, any JSON value."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(data, ())
    return st.tuples(st.sampled_from(paths[1:]), json_values)


def mutated(data, path, value):
    copy = json.loads(json.dumps(data))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


ROLES = yaml.safe_load((ROOT / "policies" / "roles.yaml").read_text())
SKILLS = yaml.safe_load((ROOT / "policies" / "skills.yaml").read_text())


@FAST
@given(mutations(ROLES))
def test_role_registry_loads_or_names_the_problem(tmp_path_factory, change):
    path = tmp_path_factory.mktemp("roles") / "roles.yaml"
    path.write_text(json.dumps(mutated(ROLES, *change)))
    try:
        load_role_registry(path)
    except PolicyError as err:
        assert str(path) in str(err)


REGISTRY = load_role_registry(ROOT / "policies" / "roles.yaml")


@FAST
@given(mutations(SKILLS))
def test_skill_policy_loads_or_names_the_problem(tmp_path_factory, change):
    path = tmp_path_factory.mktemp("skills") / "skills.yaml"
    path.write_text(json.dumps(mutated(SKILLS, *change)))
    try:
        load_skill_policy(path, registry=REGISTRY)
    except PolicyError as err:
        assert str(path) in str(err)
