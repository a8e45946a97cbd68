"""What the process running a test knows about it: markers, category, variant and experiment.

Computed once per test item (cached in the item's stash by the plugin, so reruns reuse it)
in the process that runs the test, because under xdist the controller has no items.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["BUILTIN_MARKERS", "VARIANT_MARKER", "EXPERIMENT_MARKER", "describe_item"]

VARIANT_MARKER = "rq_obs_variant"
EXPERIMENT_MARKER = "rq_obs_experiment"
#: Markers that say how a test runs, not what it is about; never a category.
BUILTIN_MARKERS = frozenset({
    "parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "tryfirst", "trylast",
    "flaky", "timeout", "asyncio", "anyio", "no_cover", "django_db",
})


def _first_arg(mark: Any) -> str | None:
    if mark.args:
        return str(mark.args[0])[:256] or None
    for key in ("name", "value", "variant", "experiment"):
        if key in mark.kwargs:
            return str(mark.kwargs[key])[:256] or None
    return None


def describe_item(item: Any, env: Mapping[str, str], variant_env: str, experiment_env: str) -> dict:
    """{'markers': [...], 'category': str, 'variant': str, 'experiment': str} for a pytest item.

    Category: the closest marker that is not builtin (see :data:`BUILTIN_MARKERS`) nor rq-obs's own.
    Variant: marker ``rq_obs_variant("B")``, else the ``variant_env`` variable, else ``control``
    (the ``rq_obs`` fixture can still override it per attempt). Experiment: marker
    ``rq_obs_experiment("name")``, else ``experiment_env``, else ``none``.
    """
    markers: list[str] = []
    category = variant = experiment = None
    for mark in item.iter_markers():
        name = mark.name
        if name not in markers:
            markers.append(name)
        if name == VARIANT_MARKER:
            variant = variant or _first_arg(mark)
        elif name == EXPERIMENT_MARKER:
            experiment = experiment or _first_arg(mark)
        elif category is None and name not in BUILTIN_MARKERS:
            category = name
    return {
        "markers": markers,
        "category": (category or "none")[:256],
        "variant": variant or (env.get(variant_env) or "")[:256] or "control",
        "experiment": experiment or (env.get(experiment_env) or "")[:256] or "none",
    }
