"""One vocabulary of errors: every code the source raises is an ``ErrorCode`` member, and
the members and the problem table name the same codes."""

from __future__ import annotations

import ast
from pathlib import Path

from hub.protocol.errors import PROBLEM_TYPES, ErrorCode, HubError, problem

ROOT = Path(__file__).resolve().parents[2]


def _code_value(node: ast.AST) -> ast.expr | None:
    """The value of a ``code=`` keyword or a ``default_code =`` assignment, else None."""
    if isinstance(node, ast.keyword) and node.arg == "code":
        return node.value
    is_default = isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "default_code" for t in node.targets
    )
    return node.value if is_default and isinstance(node, ast.Assign) else None


def _raised_codes() -> dict[str, set[str]]:
    """Each string given as ``code=...`` or ``default_code = ...`` in hub and agency_client."""
    found: dict[str, set[str]] = {}
    for package in ("hub", "agency_client"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                value = _code_value(node)
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_code_the_source_raises_is_a_member() -> None:
    raised = _raised_codes()
    assert len(raised) > 60  # the scan finds the codes (it cannot pass on an empty tree)
    members = {member.value for member in ErrorCode}
    unknown = {code: sorted(where) for code, where in raised.items() if code not in members}
    assert not unknown, f"codes missing from hub.protocol.errors.ErrorCode: {unknown}"


def test_the_members_and_the_problem_table_name_the_same_codes() -> None:
    assert {member.value for member in ErrorCode} == set(PROBLEM_TYPES)


def test_a_member_renders_as_its_problem_type() -> None:
    doc = problem(HubError("not yours", code=ErrorCode.RECIPIENT_OUTSIDE_AREA))
    assert doc["type"].endswith("/recipient-outside-area")
    assert doc["status"] == 403
