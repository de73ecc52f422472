"""Phone numbers to E.164, so that one phone means one customer however it was typed."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata

_SEPARATORS = re.compile(r"[\s\-().]")


def _cn_mobile_patterns() -> tuple[re.Pattern[str], ...]:
    metadata = PhoneMetadata.metadata_for_region("CN")
    assert metadata is not None and metadata.general_desc and metadata.mobile
    general, mobile = metadata.general_desc.national_number_pattern, metadata.mobile
    assert general and mobile.national_number_pattern
    return (
        re.compile(r"1[0-9]{10}", re.ASCII),
        re.compile(general),
        re.compile(mobile.national_number_pattern),
    )


_CN_MOBILE = _cn_mobile_patterns()


@lru_cache(maxsize=200_000)  # the same customers' phones arrive again and again
def normalise_phone(raw: str, region: str = "CN") -> str:
    """`138 0013 8000`, `+86 138-0013-8000` and `8613800138000` all give `+8613800138000`.

    Numbers without a `+` are read as national numbers of `region`; a run of digits that
    already starts with the region's country code (e.g. 13 digits starting 86 for CN) is
    read as international. Raises ValueError when the result is not a valid number.
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64 or "\x00" in raw:
        raise ValueError(f"not a phone number: {raw!r}")
    if region.upper() == "CN" and all(p.fullmatch(raw) for p in _CN_MOBILE):
        # A plain 11-digit mobile number (most of what arrives), checked against
        # phonenumbers' own CN patterns: the E.164 text without parsing (a tenth of the
        # cost; none of those prefixes is a national or carrier prefix to strip).
        return f"+86{raw}"
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    candidates: list[tuple[str, str | None]] = []
    if compact.startswith("+"):
        candidates.append((compact, None))
    else:
        code = str(phonenumbers.country_code_for_region(region.upper()))
        if compact.isdigit() and code != "0" and compact.startswith(code):
            candidates.append(("+" + compact, None))
        candidates.append((compact, region.upper()))
    for text, parse_region in candidates:
        try:
            number = phonenumbers.parse(text, parse_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"not a valid phone number: {raw!r}")
