"""Analytics PromQL cannot do, as pure functions over plain data (no store, no I/O)."""
