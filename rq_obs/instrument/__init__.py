"""Instrument an existing code base: static analysis (:mod:`.analyze`) and libcst edits (:mod:`.apply`)."""
