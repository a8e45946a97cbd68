"""``rq-obs demo``: the whole product on real Prometheus and Alertmanager, without Docker.

- :mod:`.script`: what the demo does, as constants (runs, variants, releases, settings);
- :mod:`.example`: the bundled example project (package data);
- :mod:`.runner`: prepares a demo directory (project, stack, test runs, release snapshots,
  backfilled history) and starts the services;
- :mod:`.history`: the second suite's two weeks of runs, pushed to ``rq-obs serve``;
- :mod:`.processes`: starts and stops Prometheus, Alertmanager and ``rq-obs serve``;
- :mod:`.sink`: a local Slack-compatible webhook that keeps what Alertmanager posts;
- :mod:`.tracing`: the rq-obs collector build and Jaeger v2 on loopback ports (the generated configs);
- :mod:`.webapp`: the example Flask app, instrumented by ``rq-obs instrument apply``, and its traffic.
"""

from __future__ import annotations

__all__: list[str] = []
