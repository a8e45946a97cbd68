"""Collectors that publish catalogue metrics from the store and the host (used by `rq-obs serve`).

:func:`collectors` builds the list the server registers. Each entry of :data:`PLUGGABLE`
names a module of this package and a factory in it called as
``factory(store, config, guard) -> Collector`` (a function or the collector class itself);
a module that does not exist (yet) is skipped, so a new collector plugs in with one line.
The server adds its own health collector (:mod:`rq_obs.exporters.health`) last.
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["collectors", "PLUGGABLE"]

log = logging.getLogger("rq_obs.exporters")

#: (module under rq_obs.exporters, factory name), in scrape order.
PLUGGABLE = (
    ("store", "collector"),
    ("analytics", "AnalyticsCollector"),
    ("release", "ReleaseCollector"),
    ("host", "collector"),
    ("quarantine", "QuarantineCollector"),
)


def collectors(store, config, guard) -> list:
    """Build every available collector for ``store`` with ``config``'s caps (``guard``)."""
    out = []
    for name, factory_name in PLUGGABLE:
        module = f"{__name__}.{name}"
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        factory = getattr(mod, factory_name, None)
        if factory is None:
            log.warning("%s has no %s(store, config, guard); its metrics are not served", module, factory_name)
            continue
        made = factory(store, config, guard)
        if made is None:
            continue
        out.extend(made if isinstance(made, (list, tuple)) else [made])
    return out
