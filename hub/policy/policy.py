"""The disclosure policy: a versioned TOML file of rules per purpose and agency kind.

Each rule says which fields a purpose may carry to some agency kinds, the narrower
``restricted_fields`` used when the case says the perpetrator must not know, the
``owner_fields`` (free text about an action) sent only to the agency owning the action,
the lawful basis relied on and whether the disclosure is permitted outright or held for
review.
:func:`check_policy` lists every error; :func:`load_policy` refuses a file with any.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from hub.agencies import KINDS
from hub.policy.bases import DEFAULT_BASIS_IDS
from hub.policy.fields import (
    ALL_FIELDS,
    GROUPS,
    OWNED,
    PURPOSE_FIELDS,
    PURPOSES,
    REQUIRED_IN_GROUP,
)
from hub.policy.witness import WitnessQuorum, parse_witness
from hub.protocol.errors import PolicyError

__all__ = ["ANY_KIND", "MAX_POLICY_BYTES", "Policy", "Rule", "check_policy", "load_policy"]

ANY_KIND: Final = "*"
MAX_POLICY_BYTES: Final = 256 * 1024
BUNDLED: Final = "default_policy.toml"
_VERSION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_TOP_KEYS: Final = {"version", "description", "rule", "witness"}
_RULE_KEYS: Final = {
    "purpose",
    "kinds",
    "fields",
    "restricted_fields",
    "owner_fields",
    "basis",
    "decision",
}
_REQUIRED_RULE_KEYS: Final = {"purpose", "kinds", "fields", "basis", "decision"}


@dataclass(frozen=True, slots=True)
class Rule:
    """What one purpose may carry to some agency kinds, and on what basis."""

    number: int
    purpose: str
    kinds: tuple[str, ...]
    fields: frozenset[str]
    restricted_fields: frozenset[str]
    basis: str
    decision: Literal["permit", "review"]
    owner_fields: frozenset[str] = frozenset()

    def fields_for(self, restricted: bool) -> frozenset[str]:
        """The fields to send: the restricted set when the perpetrator must not know,
        with the owner fields (which the message sends only about the agency's own
        actions: see :attr:`owner_only`)."""
        return (self.restricted_fields if restricted else self.fields) | self.owner_fields

    def owner_only(self, restricted: bool) -> frozenset[str]:
        """Owner fields this rule does not send outright: only about the agency's actions."""
        return self.owner_fields - (self.restricted_fields if restricted else self.fields)

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON (fields sorted; ``owner_fields`` when the rule has some)."""
        doc: dict[str, Any] = {
            "number": self.number,
            "purpose": self.purpose,
            "kinds": list(self.kinds),
            "fields": sorted(self.fields),
            "restricted_fields": sorted(self.restricted_fields),
            "basis": self.basis,
            "decision": self.decision,
        }
        if self.owner_fields:
            doc["owner_fields"] = sorted(self.owner_fields)
        return doc


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated disclosure policy."""

    version: str
    rules: tuple[Rule, ...]
    source: str
    witness: WitnessQuorum = field(default_factory=WitnessQuorum)  # [witness]

    def rule(self, purpose: str, kind: str) -> Rule | None:
        """The rule naming ``kind`` for ``purpose``, else the purpose's ``*`` rule, else None."""
        fallback = None
        for rule in self.rules:
            if rule.purpose != purpose:
                continue
            if kind in rule.kinds:
                return rule
            if ANY_KIND in rule.kinds:
                fallback = rule
        return fallback

    def to_json(self) -> dict[str, Any]:
        """The policy as JSON."""
        return {
            "version": self.version,
            "source": self.source,
            "rules": [r.to_json() for r in self.rules],
            "witness": self.witness.to_json(),
        }


def load_policy(path: Path | None = None, *, basis_ids: Collection[str] | None = None) -> Policy:
    """The bundled default policy, or the TOML file at ``path``, validated.

    Basis ids are checked against ``basis_ids`` (default: the bundled lawful bases).
    Raises :class:`PolicyError` (``invalid-policy``) naming the first error and where.
    """
    if path is None:
        text = resources.files("hub.policy").joinpath(BUNDLED).read_bytes()
        source = f"bundled {BUNDLED}"
    else:
        try:
            with path.open("rb") as handle:
                text = handle.read(MAX_POLICY_BYTES + 1)
        except OSError as exc:
            raise PolicyError(
                f"cannot read policy file {path}: {exc.strerror}", code="invalid-policy"
            ) from None
        source = str(path)
    errors, policy = _parse(text, source, basis_ids)
    if policy is None:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PolicyError(f"policy {source}: {errors[0]}{more}", code="invalid-policy")
    return policy


def check_policy(
    data: bytes, *, source: str = "policy", basis_ids: Collection[str] | None = None
) -> list[str]:
    """Every error in the policy ``data`` (empty if it is valid)."""
    return _parse(data, source, basis_ids)[0]


def _parse(
    data: bytes, source: str, basis_ids: Collection[str] | None
) -> tuple[list[str], Policy | None]:
    if len(data) > MAX_POLICY_BYTES:
        return [f"the file is larger than {MAX_POLICY_BYTES} bytes"], None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return ["the file is not UTF-8 text"], None
    except tomllib.TOMLDecodeError as exc:
        return [f"not valid TOML: {exc}"], None
    errors: list[str] = [f"unknown key {_show(k)}" for k in sorted(set(doc) - _TOP_KEYS)]
    version = doc.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        errors.append("version must be a string of 1-32 letters, digits, '.', '-', '_'")
    raw_rules = doc.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        errors.append("no rules: add [[rule]] tables")
        raw_rules = []
    known = DEFAULT_BASIS_IDS if basis_ids is None else frozenset(basis_ids)
    rules: list[Rule] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(raw_rules, start=1):
        rule = _rule(number, raw, known, errors)
        if rule is None:
            continue
        for kind in rule.kinds:
            earlier = seen.setdefault((rule.purpose, kind), number)
            if earlier != number:
                errors.append(
                    f"rule {number}: {rule.purpose} for {kind} is already given by rule {earlier}"
                )
        rules.append(rule)
    witness = parse_witness(doc.get("witness"), errors)
    if errors or not isinstance(version, str):
        return errors, None
    return [], Policy(version, tuple(rules), source, witness)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rule(number: int, raw: object, basis_ids: frozenset[str], errors: list[str]) -> Rule | None:
    where = f"rule {number}"
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be a table")
        return None
    before = len(errors)
    purpose = raw.get("purpose")
    if purpose in PURPOSES:
        where = f"rule {number} ({purpose})"
    elif "purpose" in raw:
        errors.append(f"{where}: unknown purpose {_show(purpose)}")
    errors.extend(f"{where}: unknown key {_show(k)}" for k in sorted(set(raw) - _RULE_KEYS))
    errors.extend(f"{where}: missing {k}" for k in sorted(_REQUIRED_RULE_KEYS - set(raw)))
    kinds = _kinds(where, raw.get("kinds", []), errors)
    carried = PURPOSE_FIELDS.get(str(purpose), frozenset(ALL_FIELDS))
    fields = _fields(where, "fields", raw.get("fields", []), carried, errors)
    restricted = fields
    if "restricted_fields" in raw:
        restricted = _fields(
            where, "restricted_fields", raw["restricted_fields"], carried, errors, allow_empty=True
        )
        errors.extend(
            f"{where}: restricted field {p} is not in fields (restricting only narrows)"
            for p in sorted(restricted - fields)
        )
    owner: frozenset[str] = frozenset()
    if "owner_fields" in raw:
        owned = OWNED.get(str(purpose), frozenset())
        owner = _fields(where, "owner_fields", raw["owner_fields"], owned, errors, allow_empty=True)
    basis = raw.get("basis")
    if "basis" in raw and (not isinstance(basis, str) or basis not in basis_ids):
        errors.append(f"{where}: unknown lawful basis {_show(basis)}")
    decision = raw.get("decision")
    if "decision" in raw and decision not in ("permit", "review"):
        errors.append(f"{where}: decision must be permit or review, not {_show(decision)}")
    if len(errors) > before:
        return None
    return Rule(
        number,
        str(purpose),
        kinds,
        fields,
        restricted,
        str(basis),
        "review" if decision == "review" else "permit",
        owner,
    )


def _kinds(where: str, raw: object, errors: list[str]) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}: kinds must be a non-empty list of agency kinds")
        return ()
    for kind in raw:
        if kind != ANY_KIND and kind not in KINDS:
            errors.append(f"{where}: unknown agency kind {_show(kind)}")
    if len(set(map(str, raw))) != len(raw):
        errors.append(f"{where}: a kind is named twice")
    return tuple(str(k) for k in raw)


def _fields(
    where: str,
    key: str,
    raw: object,
    carried: frozenset[str],
    errors: list[str],
    *,
    allow_empty: bool = False,
) -> frozenset[str]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        errors.append(f"{where}: {key} must be a {'' if allow_empty else 'non-empty '}list")
        return frozenset()
    out: set[str] = set()
    for item in raw:
        if not isinstance(item, str):
            errors.append(f"{where}: {key} holds a non-string {_show(item)}")
            continue
        group, _, rest = item.partition(".")
        if rest == "*" and group in GROUPS:
            out.update(p for p in carried if p.startswith(group + "."))
            if not any(p.startswith(group + ".") for p in carried):
                errors.append(f"{where}: this purpose cannot carry {item}")
        elif item not in ALL_FIELDS:
            errors.append(f"{where}: unknown field {_show(item)} in {key}")
        elif item not in carried:
            errors.append(f"{where}: this purpose cannot carry {item}")
        else:
            out.add(item)
    for group, required in REQUIRED_IN_GROUP.items():
        chosen = {p for p in out if p.startswith(group + ".")}
        if chosen and not required <= chosen:
            missing = ", ".join(sorted(required - chosen))
            errors.append(f"{where}: {key} sends part of {group} without {missing}")
    return frozenset(out)
