"""Cell-level checks: one function per kind of value, raising ``CellError(reason)``.

Reasons never contain the cell's value: it may be PHI even in a code column, when a
header is shifted or a profile maps the wrong column (a last name under
``procedure_code``).  The one exception is a vocabulary word written in another case
(``'Medicaid'`` for ``medicaid``), which is the vocabulary's own word.  Spreadsheet damage is caught, not repaired: a
number that lost its leading zero, a cell that starts like a formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

CENT = Decimal("0.01")

# ``~ * : ^`` are the X12 segment, element, component and repetition separators we
# emit; data containing them would corrupt the 837, so it is refused upstream.
X12_SEPARATORS = "~*:^"
FORMULA_STARTS = "=+-@"

SUSPECT_CHARACTERS = re.compile(r"[~*:^\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DIGITS = re.compile(r"\d+")
_AMOUNT = re.compile(r"\d+(?:\.\d{1,2})?")
_UNITS = re.compile(r"\d+(?:\.\d{1,3})?")
_ICD10 = re.compile(r"([A-Z][0-9][0-9A-Z])\.?([0-9A-Z]{0,4})")
_PROCEDURE = re.compile(r"[0-9]{4}[0-9FTU]|[A-Z][0-9]{4}")
_MODIFIER = re.compile(r"[0-9A-Z]{2}")
_TAXONOMY = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")
_IDENT = re.compile(r"[A-Za-z0-9-]+")
_STATE = re.compile(r"[A-Z]{2}")

LEADING_ZERO = "looks like a spreadsheet dropped a leading zero"


class CellError(Exception):
    """A cell cannot be read; ``reason`` is safe to show (no value in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unsafe_text_reason(value: str, *, allow_minus: bool = False) -> str | None:
    """Why a cell may not travel to the 837 at all, or None.

    Formula cells (``=``, ``+``, ``-``, ``@``) are refused, not stripped: the
    export was opened in a spreadsheet and the cell may no longer hold what the PM
    system wrote.  ``allow_minus`` leaves a leading ``-`` to the amount checks,
    which say "negative" rather than "formula".
    """
    if SUSPECT_CHARACTERS.search(value):
        if "\n" in value or "\r" in value:
            return "contains a line break; the 837 cannot carry it"
        if _CONTROL.search(value):
            return "contains a control character"
        found = " ".join(f"'{c}'" for c in X12_SEPARATORS if c in value)
        return f"contains {found}: X12 separator characters would corrupt the 837"
    if value and value[0] in FORMULA_STARTS and not (allow_minus and value[0] == "-"):
        return f"starts with '{value[0]}' like a spreadsheet formula; refused, not repaired"
    return None


@lru_cache(maxsize=8192)
def iso_date(value: str) -> date:
    match = _ISO_DATE.fullmatch(value)
    if not match:
        raise CellError("not a date in YYYY-MM-DD form")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError("not a real calendar date") from None


def past_date(value: str, today: date, *, what: str) -> date:
    parsed = iso_date(value)
    if parsed > today:
        raise CellError(f"{what} is after today ({today.isoformat()})")
    if parsed.year < 1900:
        raise CellError(f"{what} is before 1900")
    return parsed


def npi(value: str) -> str:
    """Shape only (10 digits); the Luhn check with the 80840 prefix is a rule."""
    if _DIGITS.fullmatch(value):
        if len(value) == 10:
            return value
        if len(value) == 9:
            raise CellError(f"NPI has 9 digits; {LEADING_ZERO}")
    raise CellError("an NPI is 10 digits")


_ZIP_DASHED = re.compile(r"\d{5}-\d{4}")
_EIN_DASHED = re.compile(r"\d{2}-\d{7}")
_FOUR_DIGITS = re.compile(r"\d{4}")
MAX_PAYER_ID_LENGTH = 15  # what the ledger keeps (claims.payer_id); payer ids are 5 in practice
_PAYER_ID = re.compile(rf"[A-Za-z0-9]{{2,{MAX_PAYER_ID_LENGTH}}}")
_TWO_DIGITS = re.compile(r"\d{2}")


def zip_code(value: str, *, zip4_required: bool = False, whose: str = "the billing provider's") -> str:
    digits = value.replace("-", "") if _ZIP_DASHED.fullmatch(value) else value
    if _DIGITS.fullmatch(digits):
        if len(digits) in (4, 8):
            raise CellError(f"ZIP has {len(digits)} digits; {LEADING_ZERO}")
        if len(digits) == 9 or (len(digits) == 5 and not zip4_required):
            return digits
        if len(digits) == 5:
            raise CellError(f"{whose} ZIP must be ZIP+4 (9 digits)")
    raise CellError("a ZIP is 5 or 9 digits")


def billing_zip(value: str) -> str:
    return zip_code(value, zip4_required=True)


def facility_zip(value: str) -> str:
    """2310C N403: the guide asks for the full nine-digit ZIP, like the billing provider's."""
    return zip_code(value, zip4_required=True, whose="the service facility's")


def tax_id(value: str) -> str:
    digits = value.replace("-", "") if _EIN_DASHED.fullmatch(value) else value
    if _DIGITS.fullmatch(digits):
        if len(digits) == 9:
            return digits
        if len(digits) == 8:
            raise CellError(f"tax id has 8 digits; {LEADING_ZERO}")
    raise CellError("an EIN is 9 digits")


def payer_id(value: str) -> str:
    if _FOUR_DIGITS.fullmatch(value):
        raise CellError(f"payer id has 4 digits; {LEADING_ZERO}")
    if not _PAYER_ID.fullmatch(value):
        raise CellError(f"a payer id is 2-{MAX_PAYER_ID_LENGTH} letters or digits")
    return value


def taxonomy(value: str) -> str:
    if not _TAXONOMY.fullmatch(value):
        raise CellError("a taxonomy code is 10 characters ending in X (e.g. 101YM0800X)")
    return value


def identifier(value: str, *, max_length: int, what: str) -> str:
    if not _IDENT.fullmatch(value) or len(value) > max_length:
        raise CellError(f"{what} must be 1-{max_length} letters, digits or '-'")
    return value


def text(value: str, *, max_length: int) -> str:
    if len(value) > max_length:
        raise CellError(f"longer than {max_length} characters (837P limit)")
    return value


def text_limit(max_length: int) -> Callable[[str], str]:
    """A one-argument ``text`` check (the hot path calls these per cell)."""

    def check(value: str) -> str:
        if len(value) > max_length:
            raise CellError(f"longer than {max_length} characters (837P limit)")
        return value

    return check


def state(value: str) -> str:
    if not _STATE.fullmatch(value):
        raise CellError("a state is two capital letters")
    return value


def diagnosis(value: str) -> str:
    """ICD-10-CM, dot optional; stored upper-case without the dot."""
    match = _ICD10.fullmatch(value.upper())
    if not match:
        raise CellError("not an ICD-10-CM code (letter, digit, 1-5 more; dot optional)")
    return match[1] + match[2]


def procedure(value: str) -> str:
    code = value.upper()
    if not _PROCEDURE.fullmatch(code):
        raise CellError("is not a CPT or HCPCS code (5 characters, e.g. 90837 or H0031)")
    return code


def modifier(value: str) -> str:
    code = value.upper()
    if not _MODIFIER.fullmatch(code):
        raise CellError("is not a two-character modifier")
    return code


def place_of_service(value: str) -> str:
    if _TWO_DIGITS.fullmatch(value):
        return value
    if re.fullmatch(r"[1-9]", value):
        raise CellError(f"place of service has one digit; {LEADING_ZERO}")
    raise CellError("is not a two-digit place of service")


MAX_CHARGE_DIGITS = 10  # the ledger keeps NUMERIC(12,2): up to 9,999,999,999.99


def charge(value: str) -> Decimal:
    """Decimal dollars with at most 2 places; currency signs, commas, negatives refused."""
    if _AMOUNT.fullmatch(value):
        if len(value.split(".")[0].lstrip("0")) > MAX_CHARGE_DIGITS:
            raise CellError(f"is too large for a charge (at most {MAX_CHARGE_DIGITS} digits before the point)")
        return Decimal(value).quantize(CENT)
    if value.startswith("-") or (value.startswith("(") and value.endswith(")")):
        raise CellError("is negative")
    if "$" in value:
        raise CellError("has a currency sign; write plain dollars like 150.00")
    if "," in value:
        raise CellError("has a thousands separator; write plain dollars like 1500.00")
    if re.fullmatch(r"\d*\.\d{3,}", value):
        raise CellError("has more than 2 decimal places")
    raise CellError("is not a dollar amount like 150.00")


MAX_UNITS_LENGTH = 15  # SV104 is R 1/15, and the ledger keeps units as written


def units(value: str) -> Decimal:
    if _UNITS.fullmatch(value):
        if len(value) > MAX_UNITS_LENGTH:
            raise CellError(f"units must be at most {MAX_UNITS_LENGTH} characters")
        try:
            amount = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            raise CellError("is not a number") from None
        if amount > 0:
            return amount
        raise CellError("units must be positive")
    if value.startswith("-"):
        raise CellError("is negative; units must be positive")
    raise CellError("is not a positive number of units")


@lru_cache(maxsize=1024)
def diagnosis_pointers(value: str, diagnosis_count: int) -> tuple[int, ...]:
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise CellError("is not a list of diagnosis numbers like 1,2")
    pointers = tuple(int(part) for part in parts)
    if len(pointers) > 4:
        raise CellError("at most 4 diagnosis pointers per line")
    if len(set(pointers)) != len(pointers):
        raise CellError("points at a diagnosis twice")
    # Which pointer is wrong, by its position in the cell, not by what it says: the
    # cell may hold anything a shifted column put there.
    wrong = [position for position, p in enumerate(pointers, start=1) if not 1 <= p <= diagnosis_count]
    if wrong:
        raise CellError(
            f"diagnosis pointer {wrong[0]} of {len(pointers)} names a diagnosis the claim does not have "
            f"(it has {diagnosis_count})"
        )
    return pointers


def one_of(value: str, vocabulary: tuple[str, ...], *, quote: bool) -> str:
    """``quote``: a value that is a vocabulary word in another case may be shown (it is not data)."""
    if value not in vocabulary:
        words = {word.casefold(): word for word in vocabulary}
        near = words.get(value.casefold()) if quote else None
        if near:
            raise CellError(f"'{value}' is not one of {', '.join(vocabulary)} (write '{near}')")
        raise CellError(f"value is not one of {', '.join(vocabulary)}")
    return value
