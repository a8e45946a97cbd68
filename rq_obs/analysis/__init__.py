"""Analytics PromQL cannot do: flakiness, tracked-file change impact, experiments, executive figures.

Pure functions over plain data (:mod:`.flaky`, :mod:`.impact`, :mod:`.experiments`,
:mod:`.executive`, shared statistics in :mod:`.stats`); store readers in :mod:`.queries`;
:mod:`.reports` joins them; :mod:`.gitpoll` records tracked-file changes from git.
Definitions: docs/ANALYTICS.md.
"""
