"""Copies of the project whose make-based components are the fake trees in tests/fixtures, and a
local HTTP server for the one component a test fetches and unpacks for real."""

import glob
import hashlib
import http.server
import io
import os
import re
import shutil
import tarfile
import threading
import time

from helpers import ROOT, copy_build_files, scons
from rvbuild import components, kconfig
from rvbuild.steps import STEP

FAKES = {
    "linux": "fake-linux",
    "busybox": "fake-busybox",
    "dropbear": "fake-dropbear",
    "opensbi": "fake-opensbi",
    "strace": "fake-strace",
    "zlib": "fake-zlib",
    "ncurses": "fake-ncurses",
    "htop": "fake-htop",
}
# What builds with a library that has no fake tree: left out of the copies (the boot tier builds them).
WITHOUT_FAKE = ["components/jsonc", "programs/json-pretty"]


def copy_project(path):
    """Copy the project's build files to `path`, and the fake trees to `path`/fixtures."""
    copy_build_files(path)
    for folder in WITHOUT_FAKE:
        shutil.rmtree(f"{path}/{folder}")
    shutil.copytree(f"{ROOT}/tests/fixtures", f"{path}/fixtures")
    # The fake Kconfig knows the symbols the real fragments use, two HZ choices and a driver.
    known = list(kconfig.requested(glob.glob(f"{path}/components/linux/*.config")))
    known += ["CONFIG_HZ_100", "CONFIG_HZ_250", "CONFIG_DUMMY"]
    with open(f"{path}/fixtures/fake-linux/Kconfig", "w") as f:
        f.write("\n".join(known) + "\n")
    return path


class Project:
    def __init__(self, path, local=FAKES, options=(), env=None):
        """`local`: the components built from a fake tree (<name>_src=); `env`: scons' environment."""
        self.path = path
        self.options = [f"{name}_src={path}/fixtures/{fake}" for name, fake in local.items()] + list(options)
        self.env = env

    def file(self, relative):
        return os.path.join(self.path, relative)

    def edit(self, relative, change):
        with open(self.file(relative)) as f:
            text = f.read()
        with open(self.file(relative), "w") as f:
            f.write(change(text))

    def scons(self, *args, check=True):
        return scons(*args, *self.options, cwd=self.path, check=check, env=self.env)

    def build(self, *args):
        """Run `scons image`; returns (labels of the actions that ran, components they belong to, output)."""
        result = self.scons("image", *args)
        ran = [(label, component) for label, variant, component in STEP.findall(result.stdout) if variant == "rv64"]
        return {label for label, _ in ran}, {component for _, component in ran}, result.stdout

    def component_count(self, firmware="opensbi", packages=()):
        """How many components an rv64 image of this project has (the closing line counts them)."""
        return len(components.listed(components.for_image(components.discover(self.path), firmware, packages)))

    def up_to_date(self, *args):
        return self.scons("-q", "image", *args, check=False).returncode == 0


# The fake trees that tests fetch and unpack for real, as their release tarballs are named.
RELEASES = {"dropbear": "dropbear-2022.83.tar.bz2", "ncurses": "ncurses-6.4.tar.gz"}


def fake_release(project, component):
    """A component's fake tree as the release tarball it stands for: (file name, its bytes)."""
    filename = RELEASES[component]
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode=f"w:{filename.rsplit('.', 1)[1]}") as tar:
        tar.add(project.file(f"fixtures/{FAKES[component]}"), arcname=filename.split(".tar.")[0])
    return filename, data.getvalue()


def fetch_from(project, component, url, body):
    """Have the project's `component` fetched from `url` (serving `body`) instead of its real release."""
    sha256 = hashlib.sha256(body).hexdigest()
    project.edit(
        f"components/{component}/SConscript",
        lambda text: re.sub(
            r"sha256=\"[0-9a-f]+\",.*?debian=Debian\([^)]*\)",
            f"sha256={sha256!r}, urls=[{url!r}]",
            text,
            flags=re.DOTALL,
        ),
    )


class SlowServer:
    """An HTTP server on 127.0.0.1 serving one file; after slow_down(), the next download sends half
    of it, sets `halfway`, then crawls on at a byte a tenth of a second."""

    def __init__(self, filename, body):
        self.body = body
        self.slow = False
        self.halfway = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != f"/{filename}":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                try:
                    server.send(self.wfile)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the build was killed

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{filename}"

    def slow_down(self):
        self.halfway.clear()
        self.slow = True

    def send(self, out):
        if not self.slow:
            out.write(self.body)
            return
        self.slow = False
        half = len(self.body) // 2
        out.write(self.body[:half])
        out.flush()
        self.halfway.set()
        for offset in range(half, len(self.body)):
            time.sleep(0.1)
            out.write(self.body[offset : offset + 1])
            out.flush()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
