import json
import re
import sqlite3

import pytest

from rq_obs.catalog import M
from rq_obs.errors import InputError, StoreError
from rq_obs.store import ApiCall, Attempt, Run, Store, TrackedFile, read_totals, run_from_dict, run_to_dict, save_run
from rq_obs.store.db import CORE_MIGRATIONS
from rq_obs.store.runs import list_runs, prune


def _run(run_id="r1", started=1000.0, outcomes=("passed", "failed"), sha="aa"):
    attempts = tuple(Attempt(test=f"t::{i}", outcome=o, duration=0.5, started_at=started) for i, o in enumerate(outcomes))
    return Run(run_id=run_id, suite="s", started_at=started, finished_at=started + 1, attempts=attempts,
               tracked_files=(TrackedFile("SKILL.md", sha),))


def total(store, series, **labels):
    return sum(v for s, l, v in read_totals(store, series) if all(l.get(k) == x for k, x in labels.items()))


def test_save_is_idempotent_and_totals_count_once(tmp_path):
    store = Store(tmp_path / "s.db")
    assert save_run(store, _run()).stored
    again = save_run(store, _run())
    assert not again.stored and again.sequence == 1
    assert total(store, M.TEST_ATTEMPTS.total, outcome="passed") == 1
    assert total(store, M.TEST_ATTEMPTS.total, outcome="failed") == 1
    assert total(store, M.TEST_RUNS.total, status="complete") == 1
    assert save_run(store, _run("r2", 2000.0)).sequence == 2


def test_tracked_file_change_is_an_event(tmp_path):
    store = Store(tmp_path / "s.db")
    save_run(store, _run("r1", 1000.0, sha="aa"))
    save_run(store, _run("r2", 2000.0, sha="aa"))
    save_run(store, _run("r3", 3000.0, sha="bb"))
    rows = store.query("SELECT old_sha256, new_sha256, run_id FROM file_changes")
    assert [tuple(r) for r in rows] == [("aa", "bb", "r3")]
    assert total(store, M.TRACKED_FILE_CHANGES.total, path="SKILL.md") == 1


def test_api_calls_tokens_cost_and_retries(tmp_path):
    store = Store(tmp_path / "s.db")
    call = ApiCall("openai", "gpt-x", 200, latency=0.3, retries=2, retry_reasons=("429", "5xx"),
                   input_tokens=1000, output_tokens=500)
    run = Run("r1", "s", 1000.0, attempts=(Attempt("t", "passed", 1.0, api_calls=(call,)),))
    price = lambda model, i, o, c: (i * 2 + o * 10) / 1e6  # noqa: E731
    save_run(store, run, price=price)
    assert total(store, M.COST.total) == pytest.approx(0.007)
    assert total(store, M.API_RETRIES.total, reason="429") == 1 and total(store, M.API_RETRIES.total, reason="5xx") == 1
    assert total(store, M.TOKENS.total, token_type="input") == 1000
    assert total(store, M.API_REQUESTS.total, status_class="2xx", code="200") == 1
    assert total(store, M.API_REQUEST_DURATION.bucket, le="0.5") == 1
    assert total(store, M.API_REQUEST_DURATION.bucket, le="0.25") == 0


def test_prune_keeps_counters(tmp_path):
    store = Store(tmp_path / "s.db")
    save_run(store, _run("old", 10.0))
    save_run(store, _run("new", 5000.0))
    assert prune(store, 100.0) == 1
    assert store.query("SELECT COUNT(*) FROM attempts")[0][0] == 2
    assert total(store, M.TEST_ATTEMPTS.total) == 4


def test_list_runs_newest_first_with_counts(tmp_path):
    store = Store(tmp_path / "s.db")
    save_run(store, _run("a", 1000.0, ("passed", "passed", "failed", "skipped")))
    save_run(store, _run("b", 2000.0, ("passed",)))
    runs = list_runs(store)
    assert [r["run_id"] for r in runs] == ["b", "a"]
    assert runs[1]["counts"]["passed"] == 2 and runs[1]["counts"]["skipped"] == 1
    assert runs[1]["pass_rate"] == pytest.approx(2 / 3)


def test_round_trip_and_validation_names_the_field():
    run = _run()
    doc = json.loads(json.dumps(run_to_dict(run)))
    assert run_from_dict(doc) == run
    doc["attempts"][1]["outcome"] = "ok"
    with pytest.raises(InputError, match=r"field 'attempts\[1\]\.outcome' is 'ok'; expected one of passed"):
        run_from_dict(doc, "request body")
    with pytest.raises(InputError, match="field 'run_id' is missing"):
        run_from_dict({"suite": "s", "started_at": 1})


def test_newer_schema_is_refused(tmp_path):
    store = Store(tmp_path / "s.db")
    store.connect().execute("UPDATE schema_versions SET version = 99 WHERE component = 'core'")
    store.close()
    with pytest.raises(StoreError, match="newer than this rq-obs knows"):
        Store(tmp_path / "s.db")


def test_not_a_store(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a readable rq-obs store"):
        Store(p)
    assert len(CORE_MIGRATIONS) == 4 and sqlite3.sqlite_version  # 2: totals.created_at, 3: the fold watermark, 4: its index repair


def test_retention_prunes_old_runs_and_keeps_counters(tmp_path):
    from rq_obs.store.retention import Pruner, apply_retention
    from tests.helpers.procs import wait_until

    store = Store(tmp_path / "s.db")
    import time

    day = 86400.0
    now = time.time()
    save_run(store, _run("old", now - 100 * day))
    save_run(store, _run("new", now - 10 * day))
    assert apply_retention(store, 90, now=now) == 1
    assert [r["run_id"] for r in list_runs(store)] == ["new"]
    assert total(store, M.TEST_ATTEMPTS.total) == 4  # both runs still counted
    save_run(store, _run("ancient", now - 400 * day))
    pruner = Pruner(store, 90, interval=3600).start()  # what `rq-obs serve` runs
    wait_until(lambda: [r["run_id"] for r in list_runs(store)] == ["new"], 10, what="the pruner's first pass")
    pruner.stop()


@pytest.mark.parametrize("path, value", [
    (("attempts", 0, "attempt"), 10 ** 400), (("attempts", 0, "duration"), 10 ** 400), (("sequence",), 2 ** 63),
    (("attempts", 0, "api_calls", 0, "input_tokens"), -(2 ** 64)),
])
def test_integers_beyond_64_bits_are_a_clear_field_error(path, value):
    doc = json.loads(json.dumps(run_to_dict(Run("r", "s", 1000.0, attempts=(
        Attempt("t", "passed", 1.0, api_calls=(ApiCall("p", "m"),)),)))))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    field = ".".join(str(k) for k in path).replace(".0.", "[0].").replace(".0", "[0]")
    with pytest.raises(InputError, match=re.escape(f"field {field!r}")):
        run_from_dict(doc, "request body")


def test_the_default_store_directory_it_creates_keeps_itself_out_of_git(tmp_path):
    Store(tmp_path / ".rq-obs" / "store.db")
    assert (tmp_path / ".rq-obs" / ".gitignore").read_text() == "# created by rq-obs: the local store\n*\n"
    (tmp_path / "mine").mkdir()
    Store(tmp_path / "mine" / "store.db")  # a directory the user made is left as it is
    Store(tmp_path / "new" / "store.db")  # and only .rq-obs/ gets the file
    assert sorted(p.name for p in tmp_path.rglob(".gitignore")) == [".gitignore"]
    # a .rq-obs/ that something else made first (a CI step writing .rq-obs/ci-release) gets it with the store
    (tmp_path / "p" / ".rq-obs").mkdir(parents=True)
    (tmp_path / "p" / ".rq-obs" / "ci-release").write_text("1.0\n")
    Store(tmp_path / "p" / ".rq-obs" / "store.db")
    assert (tmp_path / "p" / ".rq-obs" / ".gitignore").read_text() == "# created by rq-obs: the local store\n*\n"
    (tmp_path / "p" / ".rq-obs" / ".gitignore").write_text("store.db\n")  # the user's own is kept
    Store(tmp_path / "p" / ".rq-obs" / "store.db")
    assert (tmp_path / "p" / ".rq-obs" / ".gitignore").read_text() == "store.db\n"
