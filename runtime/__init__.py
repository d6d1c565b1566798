"""Process-wide settings (bhclaims.toml), logging with PHI redaction, the acting user."""
