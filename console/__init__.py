"""What bhclaims shows people and machines: tables, TSV, JSON, CSV and exit codes."""
