"""fetch() against a real HTTP server on 127.0.0.1: what reaches the cache is always verified."""

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rvbuild import BuildError
from rvbuild.fetch import Debian, Source, debian_uris, fetch, remove_stale_parts

GOOD = b"the real release\n" * 1000
GOOD_SHA256 = hashlib.sha256(GOOD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    slow_started = threading.Event()

    def do_GET(self):
        try:
            self.serve()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (cut off, or killed)

    def serve(self):
        if self.path == "/endless.tar":  # no Content-Length: the body ends when the client hangs up
            self.send_response(200)
            self.end_headers()
            while True:
                self.wfile.write(GOOD)
        if self.path == "/slow.tar":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.slow_started.set()
            for start in range(0, len(GOOD), 100):
                self.wfile.write(GOOD[start : start + 100])
                self.wfile.flush()
                time.sleep(0.1)
            return
        if self.path == "/good.tar":
            body, length = GOOD, len(GOOD)
        elif self.path == "/corrupt.tar":
            body, length = GOOD[:-1] + b"X", len(GOOD)
        elif self.path == "/truncated.tar":
            body, length = GOOD[: len(GOOD) // 2], len(GOOD)
        elif self.path == "/bigger.tar":
            body = GOOD + b"and more\n"
            length = len(body)
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def source(*urls, size=None):
    return Source("release.tar", GOOD_SHA256, urls=urls, size=size)


def leftovers(cache):
    return sorted(os.listdir(cache)) if os.path.exists(cache) else []


def test_good_file_is_fetched_and_verified(server, tmp_path):
    path = fetch(source(f"{server}/good.tar", size=len(GOOD)), tmp_path / "dl", progress=False)
    assert open(path, "rb").read() == GOOD
    assert leftovers(tmp_path / "dl") == ["release.tar"]


@pytest.mark.parametrize("bad", ["corrupt.tar", "truncated.tar", "missing.tar"])
def test_bad_mirror_falls_through_to_the_next(server, tmp_path, bad):
    path = fetch(source(f"{server}/{bad}", f"{server}/good.tar"), tmp_path / "dl", progress=False)
    assert open(path, "rb").read() == GOOD


@pytest.mark.parametrize("bad", ["corrupt.tar", "truncated.tar"])
def test_bad_download_never_reaches_the_cache(server, tmp_path, bad):
    with pytest.raises(BuildError) as error:
        fetch(source(f"{server}/{bad}"), tmp_path / "dl", progress=False)
    assert "could not fetch release.tar" in str(error.value)
    assert leftovers(tmp_path / "dl") == []


def test_all_mirrors_failing_names_each_and_the_fix(server, tmp_path):
    with pytest.raises(BuildError) as error:
        fetch(source(f"{server}/missing.tar", "http://127.0.0.1:9/refused.tar"), tmp_path / "dl", progress=False)
    message = str(error.value)
    assert "missing.tar" in message and "refused.tar" in message
    assert "put a verified copy in" in message and "\n" not in message


def test_corrupted_cache_file_is_refused(tmp_path):
    (tmp_path / "release.tar").write_bytes(GOOD + b"tampered")
    with pytest.raises(BuildError, match="checksum mismatch .* delete the file"):
        fetch(source(), tmp_path, progress=False)


def test_cached_good_file_needs_no_network(tmp_path):
    (tmp_path / "release.tar").write_bytes(GOOD)
    assert fetch(source("http://127.0.0.1:9/unreachable"), tmp_path, progress=False)


def test_debian_fallback_uses_the_urls_apt_reports(server, tmp_path):
    apt_output = f"'{server}/good.tar' release_1.0.orig.tar 17000 SHA256:{GOOD_SHA256}\n"

    def fake_apt(command, **kwargs):
        assert command == ["apt-get", "source", "--print-uris", "release"]
        return type("Result", (), {"stdout": apt_output, "stderr": "", "returncode": 0})

    debian = Debian("release", filename="release_1.0.orig.tar")
    assert debian_uris(debian, "release.tar", run=fake_apt) == [f"{server}/good.tar"]


def test_vanished_debian_pin_says_how_to_refresh():
    def fake_apt(command, **kwargs):
        return type(
            "Result",
            (),
            {"stdout": "", "returncode": 100, "stderr": "E: Version '6.1.1-1' for 'linux-source-6.1' was not found"},
        )

    debian = Debian("linux-source-6.1", version="6.1.1-1", binary=True, refresh="run `scons update-kernel-lock`")
    with pytest.raises(BuildError, match="no longer in the Debian archive; run `scons update-kernel-lock`"):
        debian_uris(debian, "linux.deb", run=fake_apt)


@pytest.mark.parametrize(
    "url, why",
    [
        ("endless.tar", f"the server sends more than the pinned size of {len(GOOD)} bytes"),
        ("bigger.tar", f"the server announces {len(GOOD) + 9} bytes, the pinned size is {len(GOOD)}"),
    ],
)
def test_download_beyond_the_pinned_size_is_cut_off(server, tmp_path, url, why):
    with pytest.raises(BuildError) as error:
        fetch(source(f"{server}/{url}", size=len(GOOD)), tmp_path / "dl", progress=False)
    assert why in str(error.value)
    assert leftovers(tmp_path / "dl") == []


def test_killed_download_is_cleaned_up_by_the_next_fetch(server, tmp_path):
    cache = tmp_path / "dl"
    site_scons = os.path.dirname(os.path.dirname(sys.modules["rvbuild"].__file__))
    Handler.slow_started.clear()
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""import sys; sys.path.insert(0, {site_scons!r})
from rvbuild.fetch import Source, fetch
fetch(Source("release.tar", {GOOD_SHA256!r}, urls=[{server + "/slow.tar"!r}]), {str(cache)!r}, progress=False)""",
        ]
    )
    try:
        assert Handler.slow_started.wait(20), "the download never started"
        part = leftovers(cache)
        assert len(part) == 1 and part[0].startswith(".release.tar.") and part[0].endswith(".part")
        remove_stale_parts(cache)  # the cache may be shared: a download in progress is left alone
        assert leftovers(cache) == part
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert leftovers(cache) == part
    (cache / ".release.tar.older.part").write_bytes(b"from a version that took no lock")

    assert fetch(source(f"{server}/good.tar"), cache, progress=False)
    assert leftovers(cache) == ["release.tar"]
