"""Areas, referrals and cases (encrypted at rest), repeats, the SafeLives return, retention."""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.cases.areas import Area, agencies_serving
    from hub.cases.casekeys import decrypt_for_case, encrypt_for_case
    from hub.cases.referral import Referral, parse_referral
    from hub.cases.store import (
        Case,
        CaseSummary,
        Referred,
        find_subject_ids,
        list_cases,
        load_case,
        mark_heard,
        refer,
    )

__all__ = [
    "Area",
    "Case",
    "CaseSummary",
    "Referral",
    "Referred",
    "agencies_serving",
    "decrypt_for_case",
    "encrypt_for_case",
    "find_subject_ids",
    "list_cases",
    "load_case",
    "mark_heard",
    "parse_referral",
    "refer",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Area": "areas",
        "agencies_serving": "areas",
        "decrypt_for_case": "casekeys",
        "encrypt_for_case": "casekeys",
        "Referral": "referral",
        "parse_referral": "referral",
        "Case": "store",
        "CaseSummary": "store",
        "Referred": "store",
        "find_subject_ids": "store",
        "list_cases": "store",
        "load_case": "store",
        "mark_heard": "store",
        "refer": "store",
    },
)
