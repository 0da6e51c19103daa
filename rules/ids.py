"""Deterministic record ids: RFC 4122 version 5 UUIDs as text."""

import hashlib
import uuid

# The variant's two high bits are 10: the hex digit at offset 16 keeps its two low bits.
_VARIANT = {digit: format(int(digit, 16) & 0x3 | 0x8, "x") for digit in "0123456789abcdef"}


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` from the SHA-1 hex digest, without UUID objects: it runs once
    per decision."""
    h = hashlib.sha1(namespace.bytes + name.encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
