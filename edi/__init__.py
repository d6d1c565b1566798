"""X12 text in and out: the tokenizer, the 837P builder and the readers.  Pure."""
