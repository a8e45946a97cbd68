"""Estimating API cost from the config's price table: one formula for the plugin, JUnit import and ingest."""

from __future__ import annotations

from typing import Callable, Mapping

__all__ = ["PriceFn", "price_function"]

#: (model, input, output, cached tokens) -> USD, or None when the model has no price.
PriceFn = Callable[[str, int, int, int], "float | None"]


def price_function(table: Mapping[str, Mapping[str, float]]) -> PriceFn | None:
    """USD for a call from ``{model: {input, output, cached}}`` (USD per million tokens).

    ``input_tokens`` include the cached ones (OpenTelemetry GenAI convention): cached tokens
    are charged at ``cached`` (default: the input price), the rest at ``input``. None when the
    table is empty (cost then comes only from what tests report).
    """
    if not table:
        return None

    def price(model: str, input_tokens: int, output_tokens: int, cached_tokens: int) -> float | None:
        p = table.get(model)
        if p is None:
            return None
        inp = float(p.get("input", 0.0))
        cached = min(cached_tokens, input_tokens) if input_tokens else cached_tokens
        return ((input_tokens - cached) * inp + cached * float(p.get("cached", inp))
                + output_tokens * float(p.get("output", 0.0))) / 1e6

    return price
