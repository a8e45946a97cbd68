import json
from pathlib import Path

import pytest

from rq_obs.errors import InputError
from rq_obs.snapshot.model import Dependency
from rq_obs.snapshot.sbom import cyclonedx, purl
from rq_obs.snapshot.vulns import cvss_severity, load_vulnerabilities
from tests.release.factory import make, vuln

DATA = Path(__file__).resolve().parent.parent / "data" / "release"


def test_pip_audit_json():
    fmt, vulns = load_vulnerabilities(DATA / "pip-audit.json")
    assert fmt == "pip-audit"
    assert [(v.package, v.version, v.id, v.severity, v.fix_versions, v.aliases) for v in vulns] == [
        ("jinja2", "3.1.3", "GHSA-h75v-3vvj-5mfj", "unknown", ("3.1.4",), ("CVE-2024-34064",)),
        ("requests", "2.31.0", "GHSA-9wx4-h78v-vm56", "unknown", ("2.32.0",), ("CVE-2024-35195",))]


def test_osv_scanner_json_severity_from_groups_and_database():
    fmt, vulns = load_vulnerabilities(DATA / "osv-scanner.json")
    assert fmt == "osv-scanner"
    assert [(v.ecosystem, v.package, v.id, v.severity, v.fix_versions) for v in vulns] == [
        ("npm", "express", "GHSA-qw6h-vgh9-j6wx", "low", ()),
        ("pypi", "jinja2", "GHSA-h75v-3vvj-5mfj", "medium", ("3.1.4",)),
        ("pypi", "jinja2", "PYSEC-2024-39", "medium", ()),
        ("pypi", "urllib3", "GHSA-v845-jxx5-vc9f", "critical", ())]


def test_cvss_bands():
    assert [cvss_severity(x) for x in (None, 0.0, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        "unknown", "unknown", "low", "medium", "medium", "high", "high", "critical", "critical"]


def test_unknown_report_is_refused(tmp_path):
    p = tmp_path / "report.json"
    p.write_text('{"vulnerabilities": []}')
    with pytest.raises(InputError, match="neither pip-audit JSON"):
        load_vulnerabilities(p)


def test_a_report_that_audited_nothing_is_refused_not_read_as_zero_vulnerabilities(tmp_path):
    skip = "Dependency not found on PyPI and could not be audited: attrs (26.1.0)"
    p = tmp_path / "offline.json"
    p.write_text(json.dumps({"dependencies": [{"name": "attrs", "version": "26.1.0", "skip_reason": skip},
                                              {"name": "six", "version": "1.16.0", "skip_reason": skip}]}))
    with pytest.raises(InputError) as err:
        load_vulnerabilities(p)
    assert str(err.value) == (f"{p}: pip-audit audited none of its 2 dependencies (each has a skip_reason, e.g. "
                              f"{skip!r}); this report says nothing about vulnerabilities: run pip-audit where it "
                              f"reaches its vulnerability service")
    # one audited dependency is enough for the report to count (the project itself is often skipped)
    p.write_text(json.dumps({"dependencies": [{"name": "attrs", "version": "26.1.0", "skip_reason": skip},
                                              {"name": "six", "version": "1.16.0", "vulns": []}]}))
    assert load_vulnerabilities(p) == ("pip-audit", [])


def test_cyclonedx_structure():
    snap = make("v1.0.0", 1_700_000_000.0, dependencies=(
        Dependency("requests", "2.31.0", "direct", "pypi", "Apache-2.0", ("sha256:ABCDEF",), "requirements.txt"),
        Dependency("@types/node", "22.7.5", "direct", "npm"),
        Dependency("org.slf4j:slf4j-api", "2.0.16", "direct", "maven")),
        vulns=[vuln("GHSA-9wx4-h78v-vm56", "requests", "2.31.0", "medium")])
    bom = cyclonedx(snap)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5" and bom["version"] == 1
    assert bom["serialNumber"].startswith("urn:uuid:")
    assert bom["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert bom["metadata"]["component"]["version"] == "v1.0.0"
    assert [c["purl"] for c in bom["components"]] == [
        "pkg:pypi/requests@2.31.0", "pkg:npm/%40types/node@22.7.5", "pkg:maven/org.slf4j/slf4j-api@2.0.16"]
    req = bom["components"][0]
    assert req["licenses"] == [{"license": {"name": "Apache-2.0"}}]
    assert req["hashes"] == [{"alg": "SHA-256", "content": "abcdef"}]
    assert bom["components"][2]["group"] == "org.slf4j" and bom["components"][2]["name"] == "slf4j-api"
    assert bom["vulnerabilities"] == [{"id": "GHSA-9wx4-h78v-vm56", "source": {"name": "pip-audit"},
                                       "ratings": [{"severity": "medium"}], "affects": [{"ref": "pkg:pypi/requests@2.31.0"}]}]
    assert cyclonedx(snap) == bom  # deterministic
    assert purl("pypi", "zope-interface", "6.0") == "pkg:pypi/zope-interface@6.0"
    json.dumps(bom)


def test_sbom_command(tmp_path):
    from rq_obs.snapshot.store import save_snapshot
    from rq_obs.store import Store
    from tests.helpers.cli import run_cli

    store = Store(tmp_path / "s.db")
    save_snapshot(store, make("v1", 1.0, dependencies=(Dependency("click", "8.1.7", "direct"),)))
    save_snapshot(store, make("v2", 2.0, dependencies=(Dependency("click", "8.2.0", "direct"),)))
    r = run_cli("sbom", "--store", tmp_path / "s.db")
    assert r.code == 0, r.err
    assert [c["purl"] for c in json.loads(r.out)["components"]] == ["pkg:pypi/click@8.2.0"]
    r = run_cli("sbom", "--store", tmp_path / "s.db", "--release", "v1", "--output", tmp_path / "bom.json")
    assert r.code == 0 and json.loads((tmp_path / "bom.json").read_text())["components"][0]["version"] == "8.1.7"
