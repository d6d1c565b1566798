"""Checks on claims and on X12 files.  Pure: findings in, findings out."""
