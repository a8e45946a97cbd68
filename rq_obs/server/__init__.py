"""`rq-obs serve`: the exporter service (``/metrics``) and the ingest API (``POST /api/v1/runs``).

:func:`rq_obs.server.app.make_server` builds a ready-to-run ``ThreadingHTTPServer``.
"""

from rq_obs.server.app import Service, make_server

__all__ = ["Service", "make_server"]
