"""Lawful bases (seeded with the MARAC defaults), ISP versions and ISP signatures.

Revision ID: 0003

Frozen: its own operations, importing nothing of the hub, so it creates the same
schema whatever the table modules say today. The seeded bases are the defaults as they
were at this revision (``hub.policy.bases.DEFAULT_BASES``), copied here.
"""

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
_TZ = sa.DateTime(timezone=True)

_PURPOSES = ["action_notice", "agenda", "case_extract", "minutes", "research_request"]
_BASES: list[dict[str, Any]] = [
    {
        "id": "public-task",
        "title": "Public task: the statutory functions of the partner agencies",
        "art6": "6(1)(e)",
        "art9": None,
        "art10": None,
        "dpa_schedule1": None,
        "gateway": None,
        "purposes": _PURPOSES,
        "data_categories": ["contact", "identity", "referral", "risk"],
    },
    {
        "id": "safeguarding",
        "title": "Safeguarding of children and individuals at risk",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": "UK GDPR Art. 10 with DPA 2018 s.10(5)",
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "gateway": None,
        "purposes": _PURPOSES,
        "data_categories": [
            "contact",
            "identity",
            "offence",
            "referral",
            "risk",
            "special_category",
        ],
    },
    {
        "id": "cda-1998-s115",
        "title": "Crime and Disorder Act 1998 s.115: disclosure for crime reduction",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": "UK GDPR Art. 10 with DPA 2018 s.10(5)",
        "dpa_schedule1": "DPA 2018 Sch. 1 para 10 (with para 36 for offence data)",
        "gateway": "Crime and Disorder Act 1998 s.115",
        "purposes": _PURPOSES,
        "data_categories": [
            "contact",
            "identity",
            "offence",
            "referral",
            "risk",
            "special_category",
        ],
    },
    {
        "id": "children-act-2004-s11",
        "title": "Children Act 2004 s.11: duty to safeguard and promote the welfare of children",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": "UK GDPR Art. 10 with DPA 2018 s.10(5)",
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "gateway": "Children Act 2004 s.11",
        "purposes": _PURPOSES,
        "data_categories": [
            "contact",
            "identity",
            "offence",
            "referral",
            "risk",
            "special_category",
        ],
    },
    {
        "id": "care-act-2014",
        "title": "Care Act 2014 s.6 (co-operation) and s.42 (adults at risk enquiries)",
        "art6": "6(1)(e)",
        "art9": "9(2)(g) substantial public interest",
        "art10": "UK GDPR Art. 10 with DPA 2018 s.10(5)",
        "dpa_schedule1": "DPA 2018 Sch. 1 para 18 (with para 36 for offence data)",
        "gateway": "Care Act 2014 s.6 and s.42",
        "purposes": _PURPOSES,
        "data_categories": [
            "contact",
            "identity",
            "offence",
            "referral",
            "risk",
            "special_category",
        ],
    },
    {
        "id": "offence-data",
        "title": "Criminal offence data: alleged perpetrators of domestic abuse",
        "art6": "6(1)(e)",
        "art9": None,
        "art10": "UK GDPR Art. 10 with DPA 2018 s.10(5)",
        "dpa_schedule1": "DPA 2018 Sch. 1 paras 10 and 18 (via para 36)",
        "gateway": None,
        "purposes": _PURPOSES,
        "data_categories": ["contact", "identity", "offence", "referral", "risk"],
    },
]
"""The default lawful bases, as ``hub.policy.bases.DEFAULT_BASES`` gave them at this revision."""


def upgrade() -> None:
    """Create the policy tables and seed version 1 of every default lawful basis."""
    op.create_table(
        "lawful_bases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("art6", sa.String(length=16), nullable=False),
        sa.Column("art9", sa.String(length=200), nullable=True),
        sa.Column("art10", sa.String(length=200), nullable=True),
        sa.Column("dpa_schedule1", sa.String(length=200), nullable=True),
        sa.Column("gateway", sa.String(length=200), nullable=True),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.Text(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("retired_at", _TZ, nullable=True),
        sa.Column("retired_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    op.create_table(
        "isp_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("published_at", _TZ, nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "isp_signatures",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.ForeignKeyConstraint(["version"], ["isp_versions.version"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_isp_signatures_agency", "isp_signatures", ["agency_id", "id"], unique=False)
    lawful_bases = sa.table(
        "lawful_bases",
        *(sa.column(name) for name in _BASES[0]),
        sa.column("version", sa.Integer()),
        sa.column("created_at", _TZ),
        sa.column("created_by", sa.String()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        lawful_bases,
        [
            {
                **basis,
                "purposes": json.dumps(sorted(basis["purposes"])),
                "data_categories": json.dumps(sorted(basis["data_categories"])),
                "version": 1,
                "created_at": now,
                "created_by": "hub",
            }
            for basis in _BASES
        ],
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("isp_signatures")
    op.drop_table("isp_versions")
    op.drop_table("lawful_bases")
