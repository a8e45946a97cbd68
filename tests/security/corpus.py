"""A corpus of real-looking secrets (each in its documented format, made from a seeded generator so nothing
here is a live credential) and of innocent values that must survive redaction."""

from __future__ import annotations

import random
import string
import uuid

_R = random.Random(17)
_ALNUM = string.ascii_letters + string.digits
_B64 = _ALNUM + "+/"
_URLSAFE = _ALNUM + "-_"


def _s(alphabet: str, n: int) -> str:
    return "".join(_R.choice(alphabet) for _ in range(n))


def _jwt() -> str:
    import base64
    import json

    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': '1234567890', 'iat': 1516239022})}.{_s(_URLSAFE, 43)}"


def secrets() -> list[tuple[str, str]]:
    """(description, value): each must be redacted."""
    out = []
    for _ in range(5):
        out += [
            ("GitHub classic PAT", "ghp_" + _s(_ALNUM, 36)),
            ("GitHub OAuth token", "gho_" + _s(_ALNUM, 36)),
            ("GitHub app token", "ghs_" + _s(_ALNUM, 36)),
            ("GitHub fine-grained PAT", "github_pat_" + _s(_ALNUM, 22) + "_" + _s(_ALNUM, 59)),
            ("GitLab PAT", "glpat-" + _s(_URLSAFE, 20)),
            ("GitLab runner token", "glrt-" + _s(_URLSAFE, 20)),
            ("Slack bot token", f"xoxb-{_s(string.digits, 12)}-{_s(string.digits, 13)}-{_s(_ALNUM, 24)}"),
            ("Slack user token", f"xoxp-{_s(string.digits, 12)}-{_s(string.digits, 12)}-{_s(string.digits, 13)}-{_s('0123456789abcdef', 32)}"),
            ("Slack webhook", f"https://hooks.slack.com/services/T{_s(string.ascii_uppercase + string.digits, 8)}/"
                              f"B{_s(string.ascii_uppercase + string.digits, 8)}/{_s(_ALNUM, 24)}"),
            ("AWS access key id", "AKIA" + _s(string.ascii_uppercase + "234567", 16)),
            ("AWS secret access key", _s(_B64, 40)),
            ("Google API key", "AIza" + _s(_URLSAFE, 35)),
            ("Stripe secret key", "sk_live_" + _s(_ALNUM, 24)),
            ("Stripe restricted key", "rk_test_" + _s(_ALNUM, 24)),
            ("OpenAI key", "sk-proj-" + _s(_URLSAFE, 48)),
            ("Anthropic key", "sk-ant-api03-" + _s(_URLSAFE, 80)),
            ("Hugging Face token", "hf_" + _s(string.ascii_letters, 34)),
            ("PyPI token", "pypi-AgEIcHlwaS5vcmc" + _s(_URLSAFE, 60)),
            ("npm token", "npm_" + _s(_ALNUM, 36)),
            ("SendGrid key", "SG." + _s(_URLSAFE, 22) + "." + _s(_URLSAFE, 43)),
            ("RSA private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + _s(_B64, 60) + "\n-----END RSA PRIVATE KEY-----"),
            ("OpenSSH private key", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + _s(_B64, 70)),
            ("JWT", _jwt()),
            ("URL with user:password", f"postgres://app:{_s(_ALNUM, 12)}@db.internal:5432/app"),
            ("git URL with token", f"https://x-access-token:{_s(_ALNUM, 20)}@github.com/org/repo.git"),
            ("URL with token parameter", f"https://api.example.com/v1/items?limit=10&token={_s(_ALNUM, 24)}"),
            ("presigned S3 URL", f"https://bucket.s3.amazonaws.com/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={_s('0123456789abcdef', 64)}"),
            ("bearer header", "Bearer " + _s(_URLSAFE, 32)),
            ("random API key", _s(_ALNUM, 32)),
            ("token in a sentence", "deploy with key " + "ghp_" + _s(_ALNUM, 36) + " tonight"),
        ]
    return out


def innocents() -> list[tuple[str, str]]:
    """(description, value): each must survive unchanged."""
    out = []
    for _ in range(5):
        out += [
            ("commit SHA", _s("0123456789abcdef", 40)),
            ("short SHA", _s("0123456789abcdef", 12)),
            ("sha256", _s("0123456789abcdef", 64)),
            ("image digest", "sha256:" + _s("0123456789abcdef", 64)),
            ("UUID", str(uuid.UUID(int=_R.getrandbits(128)))),
            ("upper-case UUID", str(uuid.UUID(int=_R.getrandbits(128))).upper()),
        ]
    out += [
        ("path", "/home/runner/work/MyRepo2/MyRepo2/src/pkg/module_v2.py"),
        ("path", "/usr/lib/python3.11/site-packages/Django-4.2.7.dist-info/RECORD"),
        ("Windows path", r"C:\Users\runneradmin\AppData\Local\Temp\pytest-of-runneradmin\pytest-0"),
        ("PATH", "/opt/hostedtoolcache/Python/3.11.7/x64/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"),
        ("version", "3.11.7"),
        ("version", "1.26.4+cu121"),
        ("version", "2.0.0rc1.dev20240501+g1a2b3c4"),
        ("test id", "tests/test_api.py::TestHTTPServer2Handler::test_post_with_body[case-12-utf8]"),
        ("test id", "tests/unit/test_parser.py::test_roundtrip[Py311-LinuxX86_64-Release]"),
        ("CamelCase identifier", "AbstractSingletonProxyFactoryBean2"),
        ("model name", "claude-3-5-sonnet-20241022"),
        ("model name", "gpt-4o-mini-2024-07-18"),
        ("URL", "https://github.com/org/repo/actions/runs/1234567890/job/9876543210"),
        ("URL with innocent query", "https://example.com/search?q=release+notes&page=2&sort=desc"),
        ("git remote", "git@github.com:org/repo.git"),
        ("URL with user only", "https://github.com/org/repo/pull/42#issuecomment-1234567"),
        ("Docker image", "ghcr.io/org/service:2024.05.01-build.17"),
        ("workflow name", "Build and test (ubuntu-latest, Python 3.12)"),
        ("branch", "feature/JIRA-1234-add-OAuth2-login-flow"),
        ("branch", "dependabot/pip/requests-2.32.0"),
        ("hostname", "ip-10-0-12-34.eu-west-1.compute.internal"),
        ("kernel", "6.5.0-1017-azure"),
        ("CPU model", "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"),
        ("locale", "en_US.UTF-8"),
        ("timestamp", "2024-05-01T12:34:56.789012+00:00"),
        ("prompt version", "prompt-v7-2024-05-01"),
        ("SKILL path", "skills/summarise/SKILL.md"),
        ("base64 of a word", "aGVsbG8gd29ybGQ="),
        ("pip requirement", "opentelemetry-exporter-otlp-proto-http==1.25.0"),
        ("sentence", "The quick brown fox jumps over the lazy dog 42 times"),
        ("GitHub run attempt", "GITHUB_RUN_ID=9123456789"),
        ("GitHub ref", "refs/pull/1234/merge"),
        ("GitHub event path", "/home/runner/work/_temp/_github_workflow/event.json"),
        ("Python build", "CPython 3.12.3 (main, Apr 10 2024, 05:33:47) [GCC 11.4.0]"),
        ("wheel name", "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("email", "release-bot@example.com"),
        ("placeholder", "<present>"),
        ("masked", "***"),
    ]
    return out
