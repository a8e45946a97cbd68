"""The licence gate: allowed_licences / denied_licences (SPDX ids) in .quality-gates.yaml, applied by `gate` and
`compare` alike, parsed with license-expression."""

import json

from rq_obs.snapshot.model import Dependency
from tests.helpers.cli import run_cli
from tests.release.factory import make
from tests.release.test_gates_shared import _project, _store

DEPS = (Dependency("click", "8.1.7", "direct", "pypi", "BSD-3-Clause"),
        Dependency("jna", "5.17.0", "transitive", "maven", "LGPL-2.1-or-later OR Apache-2.0"),
        Dependency("readline-thing", "1.0", "transitive", "pypi", "GPL-3.0-only"),
        Dependency("mystery", "0.1", "transitive", "npm", "UNKNOWN"))


def _db(tmp_path):
    inputs = dict(dependencies=DEPS, vulns=[], coverage=0.9, code_quality=90, documentation=90)
    return _store(tmp_path / "s.db", make("v1", 1.0, **inputs), make("v2", 2.0, **inputs))


def test_allow_list_and_deny_list(tmp_path):
    db = _db(tmp_path)
    proj = _project(tmp_path, "allowed_licences: [MIT, BSD-3-Clause, Apache-2.0]\n", "allow")
    g = run_cli("--project", proj, "gate", "--store", db, "--format", "json")
    gate = {x["name"]: x for x in json.loads(g.out)["gates"]}["licences"]
    assert g.code == 1 and (gate["actual"], gate["result"], gate["source"]) == (2, "fail", ".quality-gates.yaml")
    # jna is dual-licensed: its Apache-2.0 alternative is allowed
    assert gate["detail"] == ("allowed: MIT, BSD-3-Clause, Apache-2.0; 2 of 4 dependencies rejected: readline-thing 1.0 "
                              "(GPL-3.0-only: not allowed: GPL-3.0-only), mystery 0.1 (UNKNOWN: unknown licence)")
    c = run_cli("--project", proj, "compare", "v1", "v2", "--store", db, "--format", "json")
    assert c.code == 1 and json.loads(c.out)["reasons"][0].startswith(
        "2 dependencies with licences the policy rejects (.quality-gates.yaml): allowed: MIT")

    proj = _project(tmp_path, "denied_licences: [GPL-3.0-only, AGPL-3.0-only]\n", "deny")
    g = run_cli("--project", proj, "gate", "--store", db, "--format", "json")
    gate = {x["name"]: x for x in json.loads(g.out)["gates"]}["licences"]
    assert g.code == 1 and gate["actual"] == 1 and gate["detail"].endswith(
        "readline-thing 1.0 (GPL-3.0-only: denied: GPL-3.0-only)")  # UNKNOWN is not known to be denied
    proj = _project(tmp_path, "denied_licences: [AGPL-3.0-only]\n", "fine")
    g = run_cli("--project", proj, "gate", "--store", db)
    assert g.code == 0 and any(line.split()[:4] == ["licences", "0", "0", "PASS"] for line in g.out.splitlines())
    # no policy: no licence gate at all
    g = run_cli("--project", _project(tmp_path, None, "none"), "gate", "--store", db, "--format", "json")
    assert [x["name"] for x in json.loads(g.out)["gates"]] == ["min_score", "max_regressions", "max_vulnerabilities",
                                                                "min_coverage", "max_failing_tests"]


def test_bad_policy_names_the_file_and_key(tmp_path):
    db = _db(tmp_path)
    proj = _project(tmp_path, "allowed_licences: [MIT, Not-A-Licence]\n")
    r = run_cli("--project", proj, "gate", "--store", db)
    assert r.code == 2 and ".quality-gates.yaml: key 'allowed_licences': 'Not-A-Licence' is not an SPDX licence " \
                           "expression (Unknown license key(s): Not-A-Licence)" in r.err
    (proj / ".quality-gates.yaml").write_text("denied_licences: GPL-3.0-only\n")
    r = run_cli("--project", proj, "compare", "v1", "v2", "--store", db)
    assert r.code == 2 and "key 'denied_licences' is 'GPL-3.0-only'; expected a list of SPDX licence ids" in r.err
