"""Collectors that publish catalogue metrics from the store and the host (used by `rq-obs serve`).

:func:`collectors` builds the list the server registers. Each entry of :data:`PLUGGABLE`
is a module of this package that defines ``collector(store, config, guard) -> Collector``;
a module that does not exist (yet) is skipped, so a new collector plugs in with one line.
The server adds its own health collector (:mod:`rq_obs.exporters.health`) last.
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["collectors", "PLUGGABLE"]

log = logging.getLogger("rq_obs.exporters")

#: modules (under rq_obs.exporters) whose ``collector(store, config, guard)`` is registered, in order.
PLUGGABLE = ("store", "analytics", "release", "host")


def collectors(store, config, guard) -> list:
    """Build every available collector for ``store`` with ``config``'s caps (``guard``)."""
    out = []
    for name in PLUGGABLE:
        module = f"{__name__}.{name}"
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        made = mod.collector(store, config, guard)
        if made is None:
            continue
        out.extend(made if isinstance(made, (list, tuple)) else [made])
    return out
