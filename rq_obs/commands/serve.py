"""Run the exporter service: /metrics for Prometheus and the ingest API CI pushes runs and snapshots to.

Routes: GET /metrics (OpenMetrics when asked), POST /api/v1/runs and POST /api/v1/snapshots
(bearer token from RQ_OBS_TOKEN or the config), GET /healthz, GET /readyz. Stops cleanly on
SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import signal
import threading

import click

from rq_obs.commands._common import config_from, open_store, project_root, store_option


@click.command("serve")
@store_option
@click.option("--host", default=None, help="Address to listen on. Default: exporter_host (127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on, 0-65535 (0 picks a free one). Default: exporter_port (9464).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Server log level (one line per request at info).")
@click.pass_context
def command(ctx: click.Context, store_path: str | None, host: str | None, port: int | None, log_level: str) -> None:
    """Serve /metrics from the store and accept runs and release snapshots pushed from CI."""
    logging.basicConfig(level=getattr(logging, log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("rq_obs.server")
    config = config_from(ctx)
    from rq_obs.quarantine.listfile import resolved_config  # the quarantine collector reads the project's list

    config = resolved_config(config, project_root(ctx))
    store = open_store(ctx, store_path, create=True)
    if store.created:
        log.warning("created a new, empty store at %s: no runs to serve until pytest --rq-obs or pushes add some "
                    "(point --store at an existing store to serve its runs)", store.path)

    from rq_obs.server.app import make_server
    from rq_obs.server.limits import raise_open_files

    raised = raise_open_files(config.serve_max_connections)
    if raised:
        log.warning(raised)

    try:
        server = make_server(config, store, host, port)
    except OSError as exc:
        from rq_obs.errors import UsageError

        raise UsageError(f"cannot listen on {host or config.exporter_host}:{config.exporter_port if port is None else port}: "
                         f"{exc.strerror or exc}") from None
    bound_host, bound_port = server.server_address[:2]
    if not config.token:
        log.warning("no ingest token configured (RQ_OBS_TOKEN): POST /api/v1/runs answers 503 until one is set")

    def stop(signum, frame) -> None:  # noqa: ARG001
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from rq_obs.server.app import ROUTES

    log.info("rq-obs serve: store %s, listening on http://%s:%s (%s; / lists them)",
             store.path, bound_host, bound_port, ", ".join(ROUTES))
    from rq_obs.store.retention import Pruner

    pruner = Pruner(store, config.retention_days).start()
    from rq_obs import durations
    from rq_obs.exporters.grace import notice

    said = notice(store, durations.seconds(config.new_series_grace, "new_series_grace"), config.new_series_grace)
    if said:
        click.echo(f"rq-obs serve: {said}", err=True)
    server.service.warm_up()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        pruner.stop()
        server.server_close()
        server.service.close()
        log.info("rq-obs serve: stopped")
