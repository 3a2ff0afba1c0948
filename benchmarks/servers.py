"""The static server for the crawl benchmark: nginx on 127.0.0.1, or a Python server when there is none.

nginx is Debian's (``apt-get install -y nginx-light`` or ``nginx``), run as the current user with
a temporary config and prefix (no root config is read or changed), one worker pinned to the last
CPU so the crawler under test has the other one.  It listens on 127.0.0.1 only, on a free port,
and is stopped (``SIGQUIT`` to its master, by pid) when the ``with`` block ends.

Without nginx the fallback is the standard library's ``ThreadingHTTPServer`` in a subprocess.  It
is much slower than nginx and can become the bottleneck, so the report names which one served.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["StaticServer", "find_nginx"]

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{affinity}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    open_file_cache max=200000 inactive=120s;
    default_type text/html;
    charset utf-8;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        location / {{ try_files $uri =404; }}
    }}
}}
"""

FALLBACK_SERVER = r"""
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {"": "text/html; charset=utf-8"}
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StaticServer:
    """``with StaticServer(root) as server: server.base`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self, root: str | os.PathLike[str], *, prefer: str = "nginx", cpu: int | None = None) -> None:
        self.root = Path(root).resolve()
        self.port = _free_port()
        self.kind = "none"
        self.version = ""
        self._prefer = prefer
        self._cpu = cpu
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticServer:
        nginx = find_nginx() if self._prefer == "nginx" else None
        if nginx:
            self._start_nginx(nginx)
        else:
            self._start_python()
        self._wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_nginx(self, nginx: str) -> None:
        self._tmp = tempfile.mkdtemp(prefix="bench-nginx-")
        affinity = ""
        if self._cpu is not None:
            mask = ["0"] * (self._cpu + 1)
            mask[0] = "1"  # the leftmost digit is the highest CPU
            affinity = f"worker_cpu_affinity {''.join(mask)};"
        conf = Path(self._tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self._tmp, port=self.port, root=self.root, affinity=affinity))
        # -p sets the prefix, -c the config: nothing under /etc/nginx is read; -e keeps startup errors here too.
        self._proc = subprocess.Popen(
            [nginx, "-p", self._tmp, "-c", str(conf), "-e", str(Path(self._tmp) / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.kind = "nginx"
        version = subprocess.run([nginx, "-v"], capture_output=True, text=True)
        self.version = (version.stderr or version.stdout).strip().rsplit("/", 1)[-1]

    def _start_python(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", FALLBACK_SERVER, str(self.port), str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if self._cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(self._proc.pid, {self._cpu})
        self.kind = "python-http.server"
        self.version = sys.version.split()[0]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(f"{self.kind} exited at startup (code {self._proc.returncode}): {err.strip()}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # 404 for / is fine: it answers
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer on {self.base} within 15s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # nginx: SIGQUIT is a graceful stop of master and workers; the Python server takes SIGTERM.
            proc.send_signal(signal.SIGQUIT if self.kind == "nginx" else signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
