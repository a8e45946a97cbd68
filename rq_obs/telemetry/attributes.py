"""The attribute names a suite attaches through the ``rq_obs`` fixture for the LLM-routing views.

One place for them: the analyses (:mod:`rq_obs.analysis.disambiguation`,
:mod:`rq_obs.analysis.input_terms`), the analytics exporter and docs/INSTRUMENTING.md
(a test checks the page lists exactly :data:`ATTRIBUTES`) read the names from here::

    def test_refund(rq_obs):
        text = "I want a refund"
        chosen = router.route(text)
        rq_obs.attach(input=text, expected_route="billing", chosen_route=chosen)
        assert chosen == "billing"

Plain identifiers on purpose (``attach(input=...)`` takes them as keyword arguments). Where
OpenTelemetry's GenAI semantic conventions name the same thing, :data:`OTEL_EQUIVALENT`
says which (they define no attribute for a routing decision).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["INPUT", "EXPECTED_ROUTE", "CHOSEN_ROUTE", "AMBIGUOUS", "RESPONSE", "AMBIGUOUS_MARKER", "ALIASES",
           "ATTRIBUTES", "OTEL_EQUIVALENT", "NO_ROUTE", "READ", "get", "is_ambiguous"]

#: The user input the test sent to the model or router (text; cut to 1,024 characters, credentials redacted).
INPUT = "input"
#: The route (skill, tool, agent, intent) the input should reach.
EXPECTED_ROUTE = "expected_route"
#: The route the system under test chose.
CHOSEN_ROUTE = "chosen_route"
#: True when the input is deliberately ambiguous (a disambiguation case); the pytest marker does the same.
AMBIGUOUS = "ambiguous"
#: The model's response text (for response diffs).
RESPONSE = "response"

#: ``@pytest.mark.ambiguous`` marks a test's inputs ambiguous, like ``attach(ambiguous=True)``.
AMBIGUOUS_MARKER = "ambiguous"

#: Other names accepted for the same attribute (suites that speak of skills rather than routes).
ALIASES: dict[str, tuple[str, ...]] = {EXPECTED_ROUTE: ("expected_skill",), CHOSEN_ROUTE: ("chosen_skill",)}

#: name -> (type, meaning): what docs/INSTRUMENTING.md lists.
ATTRIBUTES: dict[str, tuple[str, str]] = {
    INPUT: ("text", "the user input sent to the model or router"),
    EXPECTED_ROUTE: ("text", "the route (skill, tool, intent) the input should reach"),
    CHOSEN_ROUTE: ("text", "the route the system under test chose"),
    AMBIGUOUS: ("bool", "true for a deliberately ambiguous input (or mark the test `@pytest.mark.ambiguous`)"),
    RESPONSE: ("text", "the model's response"),
}

#: The OpenTelemetry GenAI attribute carrying the same content, where there is one.
OTEL_EQUIVALENT: dict[str, str] = {INPUT: "gen_ai.input.messages", RESPONSE: "gen_ai.output.messages"}

#: Every attribute name the analyses read, aliases included (what the store reader extracts).
READ: tuple[str, ...] = (INPUT, EXPECTED_ROUTE, *ALIASES[EXPECTED_ROUTE], CHOSEN_ROUTE, *ALIASES[CHOSEN_ROUTE], AMBIGUOUS)

#: The chosen route of an attempt that attached an expected route but no chosen one (it failed before choosing).
NO_ROUTE = "none"

_TRUE = frozenset({"true", "1", "yes", "y", "on"})


def get(attributes: Mapping[str, Any], name: str) -> Any:
    """The attribute ``name`` (or its first alias present), None when absent."""
    for key in (name, *ALIASES.get(name, ())):
        if key in attributes:
            return attributes[key]
    return None


def is_ambiguous(attributes: Mapping[str, Any], markers: Iterable[str] = ()) -> bool:
    """True when the attempt attached ``ambiguous`` as true (bool, 1 or 'true'/'yes') or carries the marker."""
    value = attributes.get(AMBIGUOUS)
    if isinstance(value, str):
        flagged = value.strip().lower() in _TRUE
    else:
        flagged = bool(value) if value is not None else False
    return flagged or AMBIGUOUS_MARKER in markers
