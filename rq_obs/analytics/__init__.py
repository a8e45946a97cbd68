"""The store side of the analytics: readers (:mod:`.queries`), store + config -> results (:mod:`.reports`),
and git polling of tracked-file changes (:mod:`.gitpoll`).

The statistics themselves are pure functions in :mod:`rq_obs.analysis` (:mod:`~rq_obs.analysis.flaky`,
:mod:`~rq_obs.analysis.impact`, :mod:`~rq_obs.analysis.experiments`, :mod:`~rq_obs.analysis.executive`,
:mod:`~rq_obs.analysis.stats`). Definitions: docs/ANALYTICS.md.
"""
