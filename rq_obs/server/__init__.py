"""`rq-obs serve`: the exporter service (``/metrics``) and the ingest API (``POST /api/v1/runs``, ``/api/v1/snapshots``).

:func:`rq_obs.server.app.make_server` builds a ready-to-run server (:mod:`rq_obs.server.http`: asyncio + h11,
bounded connections and worker pools);
:mod:`rq_obs.server.ingest` handles run pushes, :mod:`rq_obs.server.snapshots` snapshot pushes,
:mod:`rq_obs.server.metrics` scrapes.
Nothing is imported here so that :mod:`rq_obs.push` stays light.
"""
