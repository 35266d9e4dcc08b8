"""The build's own deadline: no run starts that cannot finish, runs still in
flight at the deadline are abandoned (their worker ended), every finished run
is kept, and the next build resumes. Runs are stand-ins (``fake_run``) so the
timing is under the test's control."""

from __future__ import annotations

import time
from dataclasses import replace

from tests.meta.conftest import EVAL, INSTRUCT
from tests.meta.test_store_export import run_row, scores
from tuneahead_lint.meta.build import Clock, _suite_hash, build
from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.runner import RunOutcome, WorkerConfig
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.store import Store
from tuneahead_lint.meta.variants import Recipe

CFG = WorkerConfig(data_dir=str(INSTRUCT), eval_dir=str(EVAL), features=())
SPEC = RunSpec(Recipe((("alpaca", 1.0),), 8), HParams(), 0, "m", SuiteSpec(("arc_easy",), 4))
SLOW_SEED = 1


def fake_run(spec_json: str, cfg: WorkerConfig) -> RunOutcome:
    """A run of 0.1 s, or of 10 minutes for the slow seed."""
    spec = RunSpec.from_json(spec_json)
    time.sleep(600 if spec.seed == SLOW_SEED else 0.1)
    return RunOutcome(spec.run_id, True, row=run_row(spec, total_s=0.1), scores=scores(0.5, 0.5))


def fast_run(spec_json: str, cfg: WorkerConfig) -> RunOutcome:
    spec = RunSpec.from_json(spec_json)
    return RunOutcome(spec.run_id, True, row=run_row(spec, total_s=0.1), scores=scores(0.5, 0.5))


def store_with_baseline(path) -> Store:
    st = Store(path)
    st.add_baseline("m", _suite_hash(SPEC, CFG), scores(0.5, 0.5), 1.0, "cpu")
    return st


def test_deadline_abandons_only_the_run_in_flight(tmp_path):
    specs = [SPEC, replace(SPEC, seed=SLOW_SEED), replace(SPEC, seed=2)]
    with store_with_baseline(tmp_path / "m.sqlite") as st:
        t0 = time.monotonic()
        res = build(specs, st, CFG, "t", workers=1, deadline_s=30, run_fn=fake_run, log=lambda _: None)
        took = time.monotonic() - t0
        assert res.stopped_early and (res.done, res.failed) == (1, 0)
        assert 30 <= took < 45  # returned at the deadline, not after the 10-minute run
        assert st.done_ids() == {SPEC.run_id}
        assert not st.query("SELECT * FROM failures")
        res = build(specs, st, CFG, "t", workers=1, run_fn=fast_run, log=lambda _: None)
        assert (res.skipped, res.done) == (1, 2) and len(st.done_ids()) == 3


def test_no_run_starts_that_cannot_finish():
    clock = Clock(end=time.monotonic() + 5.0)
    assert clock.may_submit()  # nothing measured yet
    clock.run_s += [4.0, 6.0, 7.0]
    assert not clock.may_submit()  # a median run (6 s) would end after the deadline
    clock.run_s[:] = [1.0, 1.0, 9.0]
    assert clock.may_submit()  # a median run (1 s) fits
    assert Clock(budget=time.monotonic() - 1).may_submit() is False
