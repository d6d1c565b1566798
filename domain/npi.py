"""The National Provider Identifier check digit, shared by the rule pack and the sandbox payer."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def npi_is_valid(npi: str) -> bool:
    """Ten ASCII digits whose Luhn sum over "80840" + the ten digits is a multiple of 10 (CMS NPI
    standard, 45 CFR 162.406).  Cached: a batch names the same few providers on every claim."""
    if len(npi) != 10 or not npi.isdigit() or not npi.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed("80840" + npi)):
        digit = ord(char) - 48
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
