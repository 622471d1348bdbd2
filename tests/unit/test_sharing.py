"""Shared work: the options of the team cache and distcc, the jobs distcc hosts take, what a
compile environment holds, checkout-relative signatures, and remote hits in the ccache line."""

import pytest

from rvbuild import BuildError, ccache_stats, options, sharing


@pytest.mark.parametrize(
    "value", ["", "redis://cache:6379", "http://cache:8080/ccache", "redis://a:1|read-only http://b/c"]
)
def test_ccache_remote_takes_network_storage(value):
    assert options.ccache_remote(value) == value


@pytest.mark.parametrize("value", ["cache:6379", "file:///tmp/x", "https//x"])
def test_ccache_remote_rejects_what_is_no_remote_storage(value):
    with pytest.raises(BuildError, match=r"^ccache_remote=.* use ccache_remote=redis://HOST:PORT or "):
        options.ccache_remote(value)


@pytest.mark.parametrize("value", ["", "build1/8 build2", "10.0.0.5:3632/4,lzo localhost/2", "--randomize a b"])
def test_distcc_hosts_takes_distcc_host_lists(value):
    assert options.distcc_hosts(value) == value


@pytest.mark.parametrize("value", ["a;b", "host/x", "'host'"])
def test_distcc_hosts_rejects_what_distcc_would_not_read(value):
    with pytest.raises(BuildError, match=r"^distcc_hosts=.* is not a distcc host list; use HOST"):
        options.distcc_hosts(value)


@pytest.mark.parametrize(
    "hosts, slots",
    [
        ("build1/8 build2/6", 14),
        ("build1 localhost", 6),  # distcc's own defaults: 4 a host, 2 for localhost
        ("10.0.0.5:3632/3,lzo @ssh-host/5 --randomize", 8),
        ("localhost/1", 1),
    ],
)
def test_distcc_slots_count_what_the_hosts_take(hosts, slots):
    assert sharing.distcc_slots(hosts) == slots


def test_default_jobs_is_the_larger_of_cores_and_distcc_slots():
    assert sharing.default_jobs(2, "") == 2
    assert sharing.default_jobs(2, "a/8 b/8") == 16
    assert sharing.default_jobs(32, "a/8") == 32


def test_compile_environment_goes_through_ccache_to_redis_and_distcc():
    assert sharing.compile_environment() == {}
    assert sharing.compile_environment("redis://c:1", "a/8") == {
        "CCACHE_REMOTE_STORAGE": "redis://c:1",
        "CCACHE_PREFIX": "distcc",
        "DISTCC_HOSTS": "a/8",
    }


def test_checkout_relative_names_no_checkout():
    text = "['-ffile-prefix-map=/home/a/rv/=', 'FW_PAYLOAD_PATH=/home/a/rv/build/rv64/linux/Image', '/home/a/rvx/y']"
    assert sharing.checkout_relative(text, "/home/a/rv") == (
        "['-ffile-prefix-map=#/=', 'FW_PAYLOAD_PATH=#/build/rv64/linux/Image', '/home/a/rvx/y']"
    )


def test_ccache_line_counts_remote_hits_when_remote_storage_was_asked(tmp_path):
    log = tmp_path / "stats.log"
    log.write_text("# a.c\ncache_miss\nremote_storage_miss\n# b.c\ndirect_cache_hit\nremote_storage_hit\n")
    assert ccache_stats.line(str(log)).startswith(
        "rvbuild: ccache: 1 of 2 compiles came from the cache, 1 of them from the remote storage ("
    )
    log.write_text("# a.c\ncache_miss\n")
    assert "remote" not in ccache_stats.line(str(log))
