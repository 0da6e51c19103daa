"""Every code a supervisor reads (outcomes, reasons, claim reasons, referral categories, dead-letter
errors) with its Indonesian and English label: the one table the HTML, the PDF and the demo use."""

from typing import Final, get_args

from schemas.records import ClaimReason, ErrorCode, Outcome, Reason

Label = tuple[str, str]

OUTCOMES: Final[dict[str, Label]] = {
    "within_standard": ("Dalam standar", "Within standard"),
    "not_served": ("Tidak dilayani", "Not served"),
    "ineligible": ("Tidak berhak", "Not eligible"),
    "suppressed": ("Ditangguhkan", "Suppressed"),
    "eligible": ("Berhak kompensasi", "Eligible for compensation"),
    "revoked": ("Dicabut", "Revoked"),
}

# Why a decision is ineligible, suppressed or revoked (the decree's exceptions).
REASONS: Final[dict[str, Label]] = {
    "service_not_covered": ("Layanan tidak tercakup", "Service not covered"),
    "not_booked_online": ("Tidak mendaftar daring", "Not booked online"),
    "not_smart_registered": ("Tidak terdaftar di SMART", "Not registered in SMART"),
    "damaged_or_lost_passport": ("Paspor rusak atau hilang", "Damaged or lost passport"),
    "system_outage": ("Gangguan sistem", "System outage"),
    "under_review": ("Dalam pemeriksaan", "Under review"),
    "called_within_standard": ("Dipanggil dalam standar", "Called within the standard"),
    "closed_before_deadline": ("Selesai sebelum batas", "Closed before the deadline"),
}

CLAIM_OUTCOMES: Final[dict[str, Label]] = {
    "granted": ("Dikabulkan", "Granted"),
    "rejected": ("Ditolak", "Rejected"),
}

CLAIM_REASONS: Final[dict[str, Label]] = {
    "unknown_ticket": ("Tiket tidak dikenal", "Unknown ticket"),
    "not_yet_decided": ("Belum diputus", "Not yet decided"),
    "not_eligible": ("Tidak berhak", "Not eligible"),
    "revoked": ("Keputusan dicabut", "Decision revoked"),
    "claim_window_closed": ("Batas waktu klaim lewat", "Claim window closed"),
    "under_review": ("Dalam pemeriksaan", "Under review"),
    "already_claimed": ("Sudah diklaim", "Already claimed"),
}

REFERRAL_CATEGORIES: Final[dict[str, Label]] = {
    "long_wait": ("Tunggu terlalu lama", "Long wait"),
    "claim_rejected": ("Klaim ditolak", "Claim rejected"),
    "officer_conduct": ("Perilaku petugas", "Officer conduct"),
    "other": ("Lainnya", "Other"),
    "auto": ("Otomatis", "Automatic"),
}

ERRORS: Final[dict[str, Label]] = {
    "invalid_json": ("JSON tidak sah", "Invalid JSON"),
    "invalid_event": ("Kejadian tidak sah", "Invalid event"),
    "unknown_office": ("Kantor tidak dikenal", "Unknown office"),
}

DEAD_LETTER: Final[Label] = ("Catatan ditolak", "Dead letter")
NO_DATA: Final[Label] = ("Tidak ada data untuk periode ini", "No data for this period")

# The contract's own lists, so a code added to the schema without a label fails at import, not in a
# report an Ombudsman officer reads.
for _table, _codes in (
    (OUTCOMES, Outcome),
    (REASONS, Reason),
    (CLAIM_REASONS, ClaimReason),
    (ERRORS, ErrorCode),
):
    if set(_table) != set(get_args(_codes)):
        raise ValueError(f"labels and schema differ: {sorted(set(_table) ^ set(get_args(_codes)))}")


def both(table: dict[str, Label], code: str) -> str:
    """ "Indonesian / English" for a code; an unknown code as it is, so nothing is hidden."""
    return pair(table.get(code, (code, code)))


def pair(label: Label) -> str:
    """A label as the documents print it: Indonesian first, English second, once if they agree."""
    indonesian, english = label
    return indonesian if indonesian == english else f"{indonesian} / {english}"
