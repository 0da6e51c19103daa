"""Record ids stay the RFC 4122 version 5 UUIDs consumers deduplicate on."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from rules.ids import uuid5_text
from rules.office import decision_id
from rules.referral import referral_id


@given(st.uuids(), st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_uuid5_text_is_the_standard_library_uuid5(namespace: uuid.UUID, name: str) -> None:
    assert uuid5_text(namespace, name) == str(uuid.uuid5(namespace, name))


def test_published_ids_are_unchanged() -> None:
    # Pinned: a changed id would make consumers count a decision or a referral twice.
    assert decision_id("T1", "eligible") == str(
        uuid.uuid5(uuid.UUID("6f1d3c52-8a0e-4b7c-9d2e-4b6b1f0c9a11"), "T1\x1feligible")
    )
    assert referral_id("revoked", "T1") == str(
        uuid.uuid5(uuid.UUID("3b8f0e7a-51c2-4d7e-9a43-2f0d6c1e8b55"), "revoked\x1fT1")
    )
