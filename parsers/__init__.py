"""PM exports (CSV, XML) into immutable ``Claim`` records.  Pure: no DB code."""
