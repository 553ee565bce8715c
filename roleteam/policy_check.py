"""`roleteam policy check [PATH]`: validate the role registry and skill policy, summarise them."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from roleteam.output import console, print_json
from roleteam.registry import load_role_registry, policy_dir
from roleteam.skills import (
    SkillProblem,
    load_skill_policy,
    policy_summary_rows,
    read_skill,
    skill_roots,
)


def _paths(path: Path | None) -> tuple[Path, Path]:
    """(roles.yaml, skills.yaml) for a policy folder or a skills.yaml file."""
    path = (path or policy_dir()).expanduser()
    if path.is_dir():
        return path / "roles.yaml", path / "skills.yaml"
    sibling = path.parent / "roles.yaml"
    return (sibling if sibling.exists() else policy_dir() / "roles.yaml"), path


def run_policy_check(path: Path | None, json_out: bool) -> None:
    """Raise PolicyError (exit 1) on an invalid policy; print a summary otherwise."""
    roles_path, skills_path = _paths(path)
    registry = load_role_registry(roles_path)
    policy = load_skill_policy(skills_path, registry=registry)
    roots = skill_roots()
    rows = policy_summary_rows(policy, registry)
    for row in rows:
        # A required skill whose document cannot be read makes every invocation `partial`.
        row["unavailable"] = [
            name
            for name in row["required"] + row["recommended"]
            if isinstance(read_skill(name, roots), SkillProblem)
        ]
    if json_out:
        print_json(
            {
                "roles_file": str(roles_path),
                "roles_version": registry.version,
                "skills_file": str(skills_path),
                "skills_version": policy.version,
                "skills_sha256": policy.sha256,
                "skill_roots": [str(r) for r in roots],
                "roles": rows,
                "ok": True,
            }
        )
        return
    table = Table(title=f"skill policy {policy.version} ({skills_path})")
    for column in ("role", "required", "recommended", "triggered", "waivers", "unavailable"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["role"],
            ", ".join(row["required"]) or "-",
            ", ".join(row["recommended"]) or "-",
            ", ".join(row["triggered"]) or "-",
            str(row["waivers"]),
            ", ".join(row["unavailable"]) or "-",
        )
    console.print(table)
    console.print(
        f"roles {registry.version} ({roles_path}): {len(registry.roles)} roles; "
        f"skill roots: {', '.join(str(r) for r in roots)}"
    )
    console.print("policy OK")
