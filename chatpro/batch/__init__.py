"""Batches: one prompt over many inputs, live (N at a time, through a Conversation each) or
through the server's Batch API (`remote`). Results are JSON lines keyed by a stable input id, so
that a batch run again with the same results file skips what is done."""
