"""What ccache did for one build: each compile through ccache appends its counters to ccache's
stats log (CCACHE_STATSLOG), which a build empties when it starts and reads when it ends."""

HITS = ("direct_cache_hit", "preprocessed_cache_hit")
COMPILES = ("cache_miss", *HITS)
# ccache_remote=: a hit that came from the remote storage (a lookup there is a hit or a miss)
REMOTE_HIT, REMOTE_MISS = "remote_storage_hit", "remote_storage_miss"


def counts(log):
    """(compiles answered from the cache, compiles) in the stats log at `log`."""
    counters = _counters(log)
    return sum(counters.count(name) for name in HITS), sum(counters.count(name) for name in COMPILES)


def _counters(log):
    try:
        with open(log) as f:
            return [line.strip() for line in f]
    except FileNotFoundError:
        return []


def remote_counts(log):
    """(compiles answered by the remote storage, compiles looked up there) in the stats log at `log`."""
    counters = _counters(log)
    hits = counters.count(REMOTE_HIT)
    return hits, hits + counters.count(REMOTE_MISS)


def line(log):
    """The summary's ccache line, or None if nothing was compiled through ccache."""
    hits, compiles = counts(log)
    if not compiles:
        return None
    remote_hits, remote_lookups = remote_counts(log)
    remote = f", {remote_hits} of them from the remote storage" if remote_lookups else ""
    return f"rvbuild: ccache: {hits} of {compiles} compiles came from the cache{remote} (scons ccache-stats for more)"
