"""Finding and reading skill documents (`<root>/<name>/SKILL.md`) without trusting them.

A skill file is outside the project's control (a workspace or a user may supply it), so this
module never raises for a bad one: every problem becomes a `SkillProblem` whose reason ends up
in the invocation's evidence. One broken skill must not stop a role from running.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from roleteam.registry import bundled_skills_dir
from roleteam.safe_yaml import UntrustedYamlError, load_untrusted_yaml

SKILL_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SKILL_FILE_NAME = "SKILL.md"
SKILL_ROOTS_ENV = "ROLETEAM_SKILL_ROOTS"
# Skills are pasted into the system prompt, which must stay well inside the model's context
# and Temporal's payload limit (see roleteam.constants), hence both caps.
MAX_SKILL_BYTES = 32 * 1024
MAX_TOTAL_SKILL_BYTES = 96 * 1024
# Front matter holds a name and a one-line description; anything bigger is refused unparsed.
MAX_FRONT_MATTER_BYTES = 4 * 1024
MAX_FRONT_MATTER_NODES = 200


@dataclass(frozen=True)
class SkillDocument:
    """A skill that was found, passed every check and was read.

    Attributes:
        name: The skill name (equal to its folder name and its front-matter `name`).
        description: The front-matter `description`.
        body: The markdown after the front matter, stripped.
        root: The resolved root directory it was found in.
        path: The resolved path of its SKILL.md.
        sha256: Hex digest of the exact bytes read.
        bytes: Size of the file in bytes.
    """

    name: str
    description: str
    body: str
    root: str
    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class SkillProblem:
    """A skill that could not be loaded, and why (shown to users as is)."""

    name: str
    reason: str


def is_valid_skill_name(name: str) -> bool:
    """True when `name` is a safe skill name (lower-case letters, digits, '-', max 64)."""
    # fullmatch, not match: `$` would accept a trailing newline.
    return SKILL_NAME_PATTERN.fullmatch(name) is not None


def skill_roots(workspace: Path | None = None, override: list[Path] | None = None) -> list[Path]:
    """The directories searched for skills, highest precedence first.

    Precedence: `override`, else `$ROLETEAM_SKILL_ROOTS` (an `os.pathsep`-separated list that
    replaces the defaults), else the defaults: `<workspace>/.agents/skills`, the bundled
    skills (the checkout's `skills/`, installed as `roleteam.bundled_skills`), and `~/.hermes/skills`.

    Args:
        workspace: The workspace whose `.agents/skills` comes first; defaults to the cwd.
        override: Roots to use instead of the environment and the defaults.

    Returns:
        The roots in search order. Roots that do not exist are kept; the loader skips them.
    """
    if override is not None:
        return [Path(p).expanduser() for p in override]
    configured = os.environ.get(SKILL_ROOTS_ENV, "")
    if configured.strip():
        return [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    roots = [(workspace or Path.cwd()) / ".agents" / "skills", bundled_skills_dir()]
    # expanduser leaves '~' in place when no home directory is known; skip the user root then.
    user_root = Path("~/.hermes/skills").expanduser()
    if not str(user_root).startswith("~"):
        roots.append(user_root)
    return roots


def read_skill(
    name: str, roots: list[Path], max_bytes: int = MAX_SKILL_BYTES
) -> SkillDocument | SkillProblem:
    """Find `name` in the first root that has a folder for it, and read it safely.

    The first root holding `<name>` wins even when its SKILL.md is broken: falling through to
    a lower root would silently run a different skill than the one the workspace meant.

    Args:
        name: The skill name; checked against `SKILL_NAME_PATTERN` before any file access.
        roots: Search roots in precedence order (see `skill_roots`).
        max_bytes: The per-skill size cap.

    Returns:
        The document, or a `SkillProblem` explaining why it cannot be used. Never raises for
        a bad skill file.
    """
    if not is_valid_skill_name(name):
        return SkillProblem(
            name,
            f"refused: invalid skill name {name!r}; names are 1-64 "
            "lower-case letters, digits or '-' starting with a letter or digit",
        )
    searched: list[str] = []
    for root in roots:
        searched.append(str(root))
        try:
            root_resolved = root.resolve(strict=True)
        except (OSError, RuntimeError):
            continue  # a missing or looping root is simply not searched
        folder = root / name
        if not root_resolved.is_dir() or not os.path.lexists(folder):
            continue
        return _read_from(name, root_resolved, folder, max_bytes)
    return SkillProblem(
        name,
        f"not found: no '{name}/{SKILL_FILE_NAME}' in any skill root "
        f"(searched: {', '.join(searched) or 'no roots'})",
    )


def _read_from(name: str, root: Path, folder: Path, max_bytes: int) -> SkillDocument | SkillProblem:
    file = folder / SKILL_FILE_NAME
    try:
        target = file.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: symlink loop on Python 3.11
        return SkillProblem(name, f"unreadable: cannot resolve {file} ({err})")
    if not target.is_relative_to(root):
        return SkillProblem(
            name,
            f"refused: {file} resolves to {target}, outside the skill root "
            f"{root}; symlinks may not leave the root",
        )
    try:
        raw = _read_capped(target, max_bytes)
    except _Refused as refused:
        return SkillProblem(name, str(refused))
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        return SkillProblem(name, f"unreadable: {target} is not UTF-8 (byte {err.start}); save it as UTF-8")
    parsed = parse_skill_text(name, text)
    if isinstance(parsed, str):
        return SkillProblem(name, f"invalid: {target}: {parsed}")
    description, body = parsed
    return SkillDocument(
        name=name,
        description=description,
        body=body,
        root=str(root),
        path=str(target),
        sha256=hashlib.sha256(raw).hexdigest(),
        bytes=len(raw),
    )


class _Refused(Exception):
    """Internal: a file that must not be read; the message is the user-facing reason."""


def _read_capped(target: Path, max_bytes: int) -> bytes:
    # The path was resolved a moment ago; O_NOFOLLOW stops a symlink swapped in since then, and
    # O_NONBLOCK keeps a FIFO planted there from hanging the worker before fstat rejects it.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)
    except FileNotFoundError:
        raise _Refused(f"not found: {target} does not exist") from None
    except OSError as err:
        raise _Refused(f"unreadable: cannot open {target} ({err.strerror})") from None
    try:
        # fstat the raw descriptor: fdopen itself refuses directories with a vaguer error.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused(f"refused: {target} is not a regular file")
        if info.st_size > max_bytes:
            raise _Refused(
                f"refused: {target} is {info.st_size} bytes, over the per-skill "
                f"cap of {max_bytes} bytes; shorten the skill"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as err:
        raise _Refused(f"unreadable: cannot read {target} ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:  # the file grew after fstat
        raise _Refused(f"refused: {target} is over the per-skill cap of {max_bytes} bytes; shorten the skill")
    return raw


def parse_skill_text(name: str, text: str) -> tuple[str, str] | str:
    """Split a SKILL.md into (description, body), checking its front matter.

    Args:
        name: The folder name the front-matter `name` must equal.
        text: The decoded file content.

    Returns:
        `(description, body)`, or a string saying what is wrong and how to fix it.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return (
            "missing front matter; start the file with a '---' line, then 'name:' and "
            "'description:', then a closing '---'"
        )
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return "front matter is not closed; add a '---' line after 'description:'"
    front = "".join(lines[1:end])
    if len(front.encode()) > MAX_FRONT_MATTER_BYTES:
        return (
            f"front matter is {len(front.encode())} bytes, over the {MAX_FRONT_MATTER_BYTES}-byte cap; "
            "keep only 'name' and a one-line 'description' there"
        )
    try:
        meta = load_untrusted_yaml(front, max_nodes=MAX_FRONT_MATTER_NODES)
    except UntrustedYamlError as err:
        return f"front matter is not valid YAML ({_one_line(err)})"
    if not isinstance(meta, dict):
        return "front matter must be a mapping with 'name' and 'description'"
    found = meta.get("name")
    if not isinstance(found, str):
        return f"front matter 'name' must be the text {name!r}, got {type(found).__name__}; make it equal"
    if found != name:
        return f"front matter name {found[:80]!r} does not match its folder {name!r}; make them equal"
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        return "front matter 'description' is missing or empty; say in one line what the skill is for"
    return description.strip(), "".join(lines[end + 1 :]).strip()


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


__all__ = [
    "MAX_SKILL_BYTES",
    "MAX_TOTAL_SKILL_BYTES",
    "SKILL_FILE_NAME",
    "SKILL_NAME_PATTERN",
    "SKILL_ROOTS_ENV",
    "SkillDocument",
    "SkillProblem",
    "is_valid_skill_name",
    "parse_skill_text",
    "read_skill",
    "skill_roots",
]
