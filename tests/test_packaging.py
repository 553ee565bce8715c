"""The wheel a user installs: one top-level package, `roleteam`, carrying its policies and skills.

The wheel is built offline from a copy of the sources (no stale build/ folder can leak into it),
then unpacked and run with the checkout out of reach: the bundled policies, the skill evidence
and the workflow sandbox must all work from the installed files alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, clean_env
from tests.test_replay import HISTORIES, workflow_id

SOURCES = ["pyproject.toml", "README.md", "roleteam", "workflows", "activities", "policies", "skills"]
BUNDLED_SKILLS = sorted(p.parent.name for p in (ROOT / "skills").glob("*/SKILL.md"))
# Run inside the unpacked wheel only: the checkout's editable finder must not fill any gap.
PRELUDE = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path "
    "if '__editable__' not in getattr(f, '__module__', '')]\n"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel-build")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
        + ["--disable-pip-version-check", "-q", "-w", str(work / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [built] = (work / "dist").glob("roleteam-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel's files as pip would put them into site-packages."""
    target = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def run_installed(installed: Path, code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = clean_env(("ROLETEAM_",), PYTHONPATH=str(installed), HOME=str(cwd))
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_the_wheel_installs_only_the_roleteam_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"roleteam", wheel.name.split("-py3")[0] + ".dist-info"}, sorted(tops)
    for required in (
        "roleteam/policies/roles.yaml",
        "roleteam/policies/teams.yaml",
        "roleteam/policies/skills.yaml",
        "roleteam/workflows/role_session.py",
        "roleteam/activities/providers/openai_compat.py",
        "roleteam/worker_main.py",
    ):
        assert required in names, required
    assert BUNDLED_SKILLS, "the checkout bundles skills"
    for skill in BUNDLED_SKILLS:
        assert f"roleteam/bundled_skills/{skill}/SKILL.md" in names, skill
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert "roleteam = roleteam.cli:main" in entry_points.decode()


def test_an_installed_wheel_finds_its_policies_and_skills(installed, tmp_path):
    code = (
        "import json, roleteam.workflows, roleteam.activities\n"
        "from roleteam.registry import policy_dir, load_role_registry\n"
        "from roleteam.skills.loader import read_skill, skill_roots\n"
        "doc = read_skill(sys.argv[1], skill_roots())\n"
        "print(json.dumps({'policy_dir': str(policy_dir()), 'roles': sorted(load_role_registry().roles),"
        " 'root': doc.root, 'path': doc.path, 'sha256': doc.sha256,"
        " 'modules': [m.__file__ for m in (roleteam.workflows, roleteam.activities)]}))\n"
    )
    skill = BUNDLED_SKILLS[0]
    done = run_installed(installed, code, skill, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    inside = str(installed.resolve() / "roleteam")
    assert found["policy_dir"] == f"{inside}/policies"
    assert "developer" in found["roles"]
    assert found["root"] == f"{inside}/bundled_skills"
    assert found["path"] == f"{inside}/bundled_skills/{skill}/SKILL.md"
    expected = hashlib.sha256((ROOT / "skills" / skill / "SKILL.md").read_bytes()).hexdigest()
    assert found["sha256"] == expected
    assert all(path.startswith(inside) for path in found["modules"]), found["modules"]


def test_user_policy_and_skill_folders_still_come_first(installed, tmp_path):
    policies = tmp_path / "my-policies"
    shutil.copytree(ROOT / "policies", policies)
    workspace_skill = tmp_path / ".agents" / "skills" / BUNDLED_SKILLS[0]
    workspace_skill.mkdir(parents=True)
    shutil.copy2(ROOT / "skills" / BUNDLED_SKILLS[0] / "SKILL.md", workspace_skill / "SKILL.md")
    code = (
        "import os; os.environ['ROLETEAM_POLICY_DIR'] = sys.argv[1]\n"
        "from roleteam.registry import policy_dir\n"
        "from roleteam.skills.loader import read_skill, skill_roots\n"
        "print(policy_dir()); print(read_skill(sys.argv[2], skill_roots()).path)\n"
    )
    done = run_installed(installed, code, str(policies), BUNDLED_SKILLS[0], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(policies), str((workspace_skill / "SKILL.md").resolve())]


def test_policy_check_runs_from_the_wheel(installed, tmp_path):
    done = run_installed(
        installed,
        "sys.argv[0] = 'roleteam'; from roleteam.cli import main; main()",
        "policy",
        "check",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "developer" in done.stdout


def test_installed_workflows_replay_in_the_sandbox(installed, tmp_path):
    """The sandbox re-imports workflow modules; their roleteam imports pass through from the wheel."""
    path = next(p for p in HISTORIES if p.name == "role_session_lifecycle.json")
    code = (
        "import asyncio, json, pathlib\n"
        "from temporalio.client import WorkflowHistory\n"
        "from temporalio.contrib.pydantic import pydantic_data_converter\n"
        "from temporalio.worker import Replayer\n"
        "from roleteam.workflows import ALL_WORKFLOWS\n"
        "data = json.loads(pathlib.Path(sys.argv[1]).read_text())\n"
        "history = WorkflowHistory.from_json(sys.argv[2], data)\n"
        "replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=pydantic_data_converter)\n"
        "result = asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=True))\n"
        "print('replayed', result.replay_failure)\n"
    )
    done = run_installed(installed, code, str(path), workflow_id(json.loads(path.read_text())), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "replayed None"


def test_no_code_imports_the_folders_by_their_checkout_names():
    """`import workflows…` works in a checkout but not from the wheel: everything says `roleteam.…`."""
    old_style = re.compile(r"^\s*(from|import) (workflows|activities|worker)\b", re.M)
    offenders = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for folder in ("roleteam", "workflows", "activities", "policies", "skills", "tests", "bench", "docs")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".md") and "__pycache__" not in path.parts
        for text in [path.read_text(encoding="utf-8")]
        for match in old_style.finditer(text)
    ]
    offenders += [f"{p.name}" for p in ROOT.glob("*.md") if old_style.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], f"import roleteam.workflows / roleteam.activities instead in: {offenders}"


def test_workflow_code_names_shared_modules_in_full():
    """Inside the sandbox `from roleteam import constants` loads a private copy of the module
    (the parent package is the sandbox's own); `import roleteam.constants as c` passes it through."""
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in sorted((ROOT / "workflows").glob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("from roleteam import ")
    ]
    assert offenders == [], f"write `import roleteam.<module> as <name>` instead: {offenders}"
