"""US state and territory codes accepted in an N4 (USPS two-letter abbreviations).

Here, not with the Massachusetts county table in validators/codesets, because both the rule
pack and the 837P builder check them, and the builder sits below the validators."""

US_STATE_CODES: frozenset[str] = frozenset(
    # 50 states and DC
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY "
    # territories and freely associated states served by USPS
    "AS GU MP PR VI FM MH PW "
    # military mail (APO/FPO)
    "AA AE AP".split()
)
