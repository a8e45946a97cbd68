"""Process limits ``rq-obs serve`` needs: enough file descriptors for its connection cap."""

from __future__ import annotations

__all__ = ["raise_open_files"]

#: descriptors kept beyond the connection cap: the store, its WAL, logs, the listening socket...
SPARE_FDS = 256


def raise_open_files(connections: int) -> str | None:
    """Raise the soft ``RLIMIT_NOFILE`` toward the hard one so ``connections`` sockets fit; a warning when they
    cannot (over the cap connections are refused, but past the descriptor limit every accept fails)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + SPARE_FDS
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            new = soft
        if new < want:
            return (f"open-file limit is {new} (ulimit -n); serve_max_connections {connections} needs {want}: "
                    f"lower serve_max_connections or raise the hard limit")
    return None
