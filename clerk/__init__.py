"""The billing clerk's desk: worklists, reports and the unattended nightly run."""
