"""What ccache did for one build: each compile through ccache appends its counters to ccache's
stats log (CCACHE_STATSLOG), which a build empties when it starts and reads when it ends."""

HITS = ("direct_cache_hit", "preprocessed_cache_hit")
COMPILES = ("cache_miss", *HITS)


def counts(log):
    """(compiles answered from the cache, compiles) in the stats log at `log`."""
    try:
        with open(log) as f:
            counters = [line.strip() for line in f]
    except FileNotFoundError:
        return 0, 0
    return sum(counters.count(name) for name in HITS), sum(counters.count(name) for name in COMPILES)


def line(log):
    """The summary's ccache line, or None if nothing was compiled through ccache."""
    hits, compiles = counts(log)
    if not compiles:
        return None
    return f"rvbuild: ccache: {hits} of {compiles} compiles came from the cache (scons ccache-stats for more)"
