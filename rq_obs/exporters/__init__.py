"""Collectors that publish catalogue metrics from the store and the host (used by `rq-obs serve`)."""
