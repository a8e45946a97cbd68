"""An organisation's list served by `rq-obs serve` (GET /api/v1/quarantine) and obeyed by the plugin."""

from __future__ import annotations

import pytest

from rq_obs.quarantine.remote import PATH
from rq_obs.store import Store
from tests.server.conftest import Running, request

LIST = "quarantine:\n  - nodeid: test_s.py::test_flaky\n    reason: org-wide (#7)\n    owner: '@team'\n    expires: '2099-01-01'\n"


@pytest.fixture
def server(tmp_path):
    q = tmp_path / "org-quarantine.yaml"
    q.write_text(LIST)
    srv = Running(Store(tmp_path / "store.db"), {}, quarantine_file=str(q))
    yield srv, q
    srv.stop()


def test_the_served_list_is_the_file_and_the_plugin_obeys_it(server, pytester):
    srv, q = server
    reply = request(srv.url + PATH)
    assert (reply.status, reply.body.decode()) == (200, LIST)
    assert reply.headers["Content-Type"] == "application/yaml; charset=utf-8"
    pytester.makepyfile(test_s="def test_flaky():\n    assert 0\n\ndef test_ok():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--rq-obs-quarantine={srv.url}{PATH}")
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 1, "quarantined": 1}
    result.stdout.fnmatch_lines(["*QUARANTINED test_s.py::test_flaky: *org-wide (#7)*owner @team*"])
    # gone from the server: a warning naming the URL, and no quarantine (nothing hidden by mistake)
    q.unlink()
    assert request(srv.url + PATH).status == 404
    result = pytester.runpytest("-p", "no:cacheprovider", f"--rq-obs-quarantine={srv.url}{PATH}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"*rq-obs: warning: {srv.url}{PATH}: HTTP 404 Not Found; no quarantine applied"])
