"""Secrets caught by value: credential formats and high-entropy text, whatever the name they are stored under.

The name rules (:func:`rq_obs.config.is_secret_name`) catch ``GITHUB_TOKEN=...``; this module
catches ``CI_NOTE=ghp_...``. :func:`secret_kind` says what a text value looks like (``None``
for an innocent one); :func:`redact` replaces such a value by ``<redacted: KIND>`` so the name
it is stored under survives and says why; :func:`redact_tree` does that through nested
mappings and lists.

Formats (one compiled alternation, so an innocent value costs one regex scan): GitHub,
GitLab, Slack (tokens and webhooks), AWS access key ids, Google API keys, Stripe, OpenAI /
Anthropic / Hugging Face / PyPI / npm / SendGrid tokens, private-key blocks, JWTs, URLs with
user-info (``scheme://user:pass@``) or secret query parameters (``?token=``, ``X-Amz-Signature=``,
...), and ``Authorization``-style ``Bearer``/``Basic`` values. Then a high-entropy check for
the rest: a run of 20+ base64/URL-safe characters mixing upper case, lower case and digits
whose Shannon entropy is at least :data:`ENTROPY_BITS` bits a character (an AWS secret key,
a random API key). Pure hex runs are never flagged by entropy, so commit SHAs, hashes and
UUIDs survive (a hex-only secret is caught only by its format or its name).

Why not Yelp's detect-secrets: it is built to scan files line by line; importing it costs
about 0.2 s (it pulls in ``requests``) and running its 27 plugins on one value about 70 µs,
where this costs a few µs and nothing at import, which matters on the pytest plugin's
per-attempt path. It also has no Google API key or URL query rule, and its entropy plugins
only look at quoted strings. The tests use it as an oracle instead: every value of the secrets
corpus it flags, this flags too (tests/test_redact.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Mapping

__all__ = ["secret_kind", "redact", "redact_tree", "redact_attributes", "redacted", "ENTROPY_BITS", "MIN_ENTROPY_LENGTH"]

#: bits of Shannon entropy per character from which a long base64-like run counts as a secret
ENTROPY_BITS = 4.0
#: shortest run the entropy check looks at
MIN_ENTROPY_LENGTH = 20

_SECRET_QUERY = (r"access_token|refresh_token|id_token|token|api_key|apikey|api-key|key|secret|client_secret|"
                 r"password|passwd|pwd|auth|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|"
                 r"x-goog-signature|sv|sas|code")

_FORMATS = [
    ("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})"),
    ("GitLab token", r"\bgl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent)-[A-Za-z0-9_\-]{20,}|\bGR1348941[A-Za-z0-9_\-]{20,}"),
    ("Slack token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
    ("Slack webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}"),
    ("AWS access key id", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b"),
    ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("Stripe key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|\bwhsec_[0-9A-Za-z]{24,}"),
    ("OpenAI/Anthropic key", r"\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("PyPI token", r"\bpypi-AgE[A-Za-z0-9_\-]{40,}"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("SendGrid key", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("JWT", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    ("URL credentials", r"://[^/\s@:?#]{1,256}:[^/\s@?#]{1,256}@"),
    ("URL secret parameter", r"[?&;](?i:" + _SECRET_QUERY + r")=[^&\s#]{4,}"),
    ("authorization header value", r"\b(?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/\-]{16,}=*"),
]
_ANY = re.compile("|".join(f"(?P<g{i}>{rx})" for i, (_, rx) in enumerate(_FORMATS)))
_KINDS = {f"g{i}": kind for i, (kind, _) in enumerate(_FORMATS)}
#: a literal every format's match contains (checked first: an innocent value rarely holds one)
_TRIGGERS = ("gh", "gl", "GR1348941", "xox", "hooks.slack", "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA",
             "ANPA", "ANVA", "AROA", "APKA", "AIza", "k_", "whsec_", "sk-", "hf_", "pypi-", "npm_", "SG.",
             "PRIVATE KEY", "eyJ", "://", "=", "Bearer", "Basic", "Token")
_TRIGGER = re.compile("|".join(re.escape(t) for t in _TRIGGERS))
_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{%d,}" % MIN_ENTROPY_LENGTH)
_HEXISH = re.compile(r"[0-9a-fA-F\-]+\Z")
_DIGITS, _UPPER, _LOWER = re.compile("[0-9]"), re.compile("[A-Z]"), re.compile("[a-z]")
_WORDS = re.compile(r"[A-Z]?[a-z]{3,}")
_LONG_PART = re.compile(r"[^-_/+=]{12}")
_PREFIX = "<redacted: "
_URL_USERINFO = re.compile(r"(://)[^/\s@:?#]{1,256}:[^/\s@?#]{1,256}@")


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _random_looking(run: str) -> bool:
    if _HEXISH.match(run):  # hashes, commit SHAs, UUIDs
        return False
    if _LONG_PART.search(run) is None:  # words joined by - _ / (a branch, a test id, a path)
        return False
    if sum(len(w) for w in _WORDS.findall(run)) >= 0.6 * len(run):  # CamelCase or snake_case words
        return False
    digits = len(_DIGITS.findall(run))
    if digits < (1 if len(run) >= 32 else 2) or len(_UPPER.findall(run)) < 2 or len(_LOWER.findall(run)) < 2:
        return False
    # n characters carry at most log2(n) bits each: a short run is held to a lower bar
    return _entropy(run) >= min(ENTROPY_BITS, 0.85 * math.log2(len(run)))


def _has_trigger(value: str) -> bool:
    if len(value) < 48:  # one regex scan is cheaper on short text...
        return _TRIGGER.search(value) is not None
    for literal in _TRIGGERS:  # ...str.find per literal on long text (C speed, no per-character branching)
        if literal in value:
            return True
    return False


def secret_kind(value: str) -> str | None:
    """What ``value`` looks like when it holds a credential (e.g. ``"GitHub token"``, ``"high-entropy text"``),
    else None. Already redacted text is innocent."""
    if len(value) < 16 or value.startswith(_PREFIX):
        return None
    if _has_trigger(value):  # the alternation runs only when a format's marker is there
        m = _ANY.search(value)
        if m is not None:
            return _KINDS[m.lastgroup]
    if len(value) >= MIN_ENTROPY_LENGTH:
        for run in _RUN.findall(value):
            if _random_looking(run):
                return "high-entropy text"
    return None


def mask_url(text: str) -> str:
    """``text`` with every URL's ``user:password@`` masked in place (``scheme://***@host/...``)."""
    return _URL_USERINFO.sub(r"\1***@", text) if "://" in text else text


def redacted(kind: str) -> str:
    """What a value found to be a ``kind`` secret is stored as."""
    return f"{_PREFIX}{kind}>"


def redact(value: Any) -> Any:
    """``value``, or ``<redacted: KIND>`` when it is text holding a credential. Non-text values pass. A URL's
    ``user:password@`` is masked in place (``scheme://***@host/...``: the URL stays readable)."""
    if type(value) is str and len(value) >= 16:
        value = mask_url(value)
        kind = secret_kind(value)
        if kind is not None:
            return redacted(kind)
    return value


def redact_tree(value: Any) -> Any:
    """``value`` with every text inside (mapping values and keys' values, list items) passed through :func:`redact`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


def redact_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Flat attributes (test attributes, span attributes) with secret values redacted, names kept."""
    return {k: redact(v) for k, v in attrs.items()}
