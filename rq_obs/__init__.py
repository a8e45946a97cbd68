"""rq-obs: release-quality observability on Grafana and Prometheus."""

__version__ = "0.1.0"
__all__ = ["__version__"]
