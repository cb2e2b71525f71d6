"""Tables of areas, cases and their people. Person data is only ever ciphertext here."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from hub.storage.tables import SEQ, TZ, metadata

__all__ = [
    "agency_areas",
    "referral_amendments",
    "areas",
    "case_keys",
    "case_sequences",
    "case_subjects",
    "cases",
    "user_areas",
]

areas = Table(
    "areas",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("target_days", Integer, nullable=False, server_default="42"),
    Column("escalation_callouts", Integer, nullable=False, server_default="3"),
    Column("retention_years", Integer, nullable=False, server_default="6"),
    Column("created_at", TZ, nullable=False),
    # A held disclosure or an override is approved by a second person (migration 0013).
    Column("four_eyes", Boolean, nullable=False, server_default="1"),
)

agency_areas = Table(
    "agency_areas",
    metadata,
    Column("area_id", String(64), ForeignKey("areas.id"), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
)

user_areas = Table(
    "user_areas",
    metadata,
    Column("area_id", String(64), ForeignKey("areas.id"), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), primary_key=True),
)

# One counter per year of referral: ``M-2026-0001``; incremented by an atomic upsert.
case_sequences = Table(
    "case_sequences",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("ref", String(20), primary_key=True),
    Column("area_id", String(64), ForeignKey("areas.id"), nullable=False),
    Column("referred_on", Date, nullable=False),
    Column("last_referral_on", Date, nullable=False),  # extended by a later repeat
    Column("created_at", TZ, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("referring_agency", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("criterion", String(32), nullable=False),
    Column("is_repeat", Boolean, nullable=False),
    Column("previous_ref", String(20), ForeignKey("cases.ref")),
    Column("tool", String(8), nullable=False),
    Column("yes_count", Integer, nullable=False),
    Column("level", String(16), nullable=False),
    Column("children_count", Integer, nullable=False),
    Column("perpetrator_must_not_know", Boolean, nullable=False),
    Column("consent", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("heard_on", Date),
    Column("legal_hold", Boolean, nullable=False, server_default="0"),
    Column("hold_reason", LargeBinary),  # under the case key
    Column("destroyed_at", TZ),
    # Under the case key, each bound to the case ref and its own field name:
    Column("answers", LargeBinary),
    Column("referral_text", LargeBinary),  # rationale, consent exception, call-outs
    Column("safe_contact", LargeBinary),
    Index("ix_cases_area", "area_id", "referred_on"),
)

case_subjects = Table(
    "case_subjects",
    metadata,
    Column("subject_id", String(16), primary_key=True),
    Column("case_ref", String(20), ForeignKey("cases.ref"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("match_key", String(64)),  # blind index; cleared when the case is destroyed
    Column("details", LargeBinary),  # under the case key
    Index("ix_case_subjects_case", "case_ref"),
    Index("ix_case_subjects_match", "match_key"),
)

case_keys = Table(
    "case_keys",
    metadata,
    Column("case_ref", String(20), ForeignKey("cases.ref"), primary_key=True),
    Column("wrapped", LargeBinary),  # NULL once destroyed
    Column("created_at", TZ, nullable=False),
    Column("destroyed_at", TZ),
)

# Every amendment of a referral (migration 0017): who, when, through which door, which
# fields changed (field names only), and the referral as it was before, under the case key.
referral_amendments = Table(
    "referral_amendments",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("case_ref", String(20), ForeignKey("cases.ref"), nullable=False),
    Column("version", Integer, nullable=False),  # the version this amendment made (from 2)
    Column("amended_at", TZ, nullable=False),
    Column("amended_by", String(80), nullable=False),  # role:name
    Column("door", String(8), nullable=False),
    Column("fields", String(4000), nullable=False),  # changed field paths, comma-separated
    Column("previous", LargeBinary),  # the referral before it, under the case key
    UniqueConstraint("case_ref", "version", name="uq_referral_amendments_version"),
)
