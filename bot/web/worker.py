"""The gunicorn worker of `accord serve` and the Procfile: tornado reads each request whole in the
worker's event loop, within deadlines, and only then one of the worker's threads runs the app.

A connection that trickles its request (or sends one byte and waits) costs a socket in the event
loop, never a thread, and is closed when its deadline passes; gthread instead gives each
connection a thread that blocks on its reads. Errors found while reading a request get the
project's JSON error shape with the security headers."""
from __future__ import annotations

import json
import logging
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from io import BytesIO
from typing import Any, Callable

from gunicorn.workers.gtornado import TornadoWorker
from tornado import gen, httputil, iostream
from tornado.escape import url_unescape
from tornado.http1connection import HTTP1Connection, HTTP1ServerConnection
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback

from .headers import OTHER_CSP, REFERRER_POLICY

# Connection opened (or idle after a reply) until the request line and headers are all in.
HEADER_TIMEOUT = 5.0
# Headers in until the whole body is in: 8 MiB (the largest upload) needs about 820 KB/s.
BODY_TIMEOUT = 10.0
MAX_LINE = 8190                 # request line, and each header line (gunicorn's limits)
MAX_FIELDS = 100                # header fields (gunicorn's limit_request_fields)
# Request line and headers together; past this tornado closes the connection without a reply.
MAX_HEADER_BYTES = 64 * 1024
SERVER = "accord"
log = logging.getLogger("accord")
LINGER = 1.0                    # after an error reply, see _reply_and_close
CODES = {400: "bad_request", 408: "request_timeout", 413: "payload_too_large",
         414: "uri_too_long", 431: "headers_too_large", 500: "internal", 501: "not_implemented",
         503: "unavailable"}


class Rejected(Exception):
    """A request the server refuses before the app sees it: its status and what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_reply(status: int, message: str) -> bytes:
    """The whole HTTP reply for an error found while reading: the app's JSON error shape and
    security headers (bot.web.errors, bot.web.headers), then the connection closes."""
    body = json.dumps({"error": {"code": CODES.get(status, "bad_request"),
                                 "message": message}}).encode()
    reason = httputil.responses.get(status, "Error")
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: close", "Cache-Control: no-store",
            f"Content-Security-Policy: {OTHER_CSP}", "X-Content-Type-Options: nosniff",
            f"Referrer-Policy: {REFERRER_POLICY}", "X-Frame-Options: DENY",
            f"Server: {SERVER}", f"Date: {formatdate(usegmt=True)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Connection(HTTP1Connection):
    """One request on a connection; what tornado would answer with a bare 400 (or a silent close)
    is raised as Rejected with the status RFC 9112 gives it."""

    # (method, path) -> the largest body that endpoint accepts; set by the worker from the app.
    limit_for: Callable[[str, str], int] | None = None
    body_skipped = False   # the declared body is over the endpoint's limit and was not read

    def _parse_headers(self, data: bytes) -> tuple[str, httputil.HTTPHeaders]:
        first = data.lstrip(b"\r\n").split(b"\n", 1)[0]
        if len(first) > MAX_LINE:
            raise Rejected(414, f"The request line is over {MAX_LINE} bytes.")
        try:
            start_line, headers = super()._parse_headers(data)
            method, path, _ = httputil.parse_request_start_line(start_line)
        except httputil.HTTPInputError:
            raise Rejected(400, "The request line or a header is malformed.") from None
        fields = list(headers.get_all())
        if len(fields) > MAX_FIELDS:
            raise Rejected(431, f"The request has over {MAX_FIELDS} header fields.")
        if any(len(name) + len(value) + 2 > MAX_LINE for name, value in fields):
            raise Rejected(431, f"A header line is over {MAX_LINE} bytes.")
        if self.limit_for is not None:
            # Only what the endpoint itself accepts is read into memory: 64 KB for a question,
            # not the 8 MiB of an upload, however many connections send one.
            self.set_max_body_size(self.limit_for(method, path.split("?", 1)[0]))
        return start_line, headers

    def _read_body(self, code, headers, delegate):
        coding = headers.get("Transfer-Encoding")
        if coding is not None:
            if "Content-Length" in headers:
                raise Rejected(400, "A request may not have both Content-Length and "
                                    "Transfer-Encoding.")
            if coding.strip().lower() != "chunked":
                raise Rejected(501, "The only transfer coding understood is chunked.")
        length = headers.get("Content-Length", "0").split(",")[0].strip()
        if length.isdigit() and int(length) > self._max_body_size:
            # Not read: the app refuses it from the declared length with its own 413, access
            # line and metrics (bot.web.errors.refuse_large_body); the unread body leaves the
            # connection unusable, so it closes after that reply.
            self._disconnect_on_finish = True
            self.body_skipped = True
            return None
        try:
            reading = super()._read_body(code, headers, delegate)
        except httputil.HTTPInputError:
            raise Rejected(400, "The request's Content-Length is malformed.") from None
        return None if reading is None else self._guard(reading)

    async def _guard(self, reading) -> None:
        try:
            await reading
        except httputil.HTTPInputError as exc:
            too_big = "too large" in str(exc) or "too long" in str(exc)
            raise Rejected(413 if too_big else 400, "The request body is too large." if too_big
                           else "The request body's chunked framing is malformed.") from None


class _ServerConnection(HTTP1ServerConnection):
    """Serves the requests of one connection; answers a Rejected request and closes."""

    async def _server_request_loop(self, delegate) -> None:
        try:
            while True:
                conn = _Connection(self.stream, False, self.params, self.context)
                request_delegate = delegate.start_request(self, conn)
                try:
                    kept = await conn.read_response(request_delegate)
                except Rejected as exc:
                    await _reply_and_close(self.stream, exc.status, exc.message)
                    return
                except iostream.UnsatisfiableReadError:
                    await _reply_and_close(self.stream, 431, "The request line and headers are "
                                                              f"over {MAX_HEADER_BYTES} bytes.")
                    return
                except (iostream.StreamClosedError, OSError):
                    return
                if not kept:
                    return
        finally:
            delegate.on_close(self)


async def _reply_and_close(stream: iostream.IOStream, status: int, message: str) -> None:
    """Write the error reply, then close gently: bytes the client is still sending are read and
    dropped for at most LINGER seconds, since closing with unread bytes resets the connection
    and the client may lose the reply."""
    try:
        await stream.write(error_reply(status, message))
        stream.socket.shutdown(socket.SHUT_WR)
        deadline = IOLoop.current().time() + LINGER
        while True:
            await gen.with_timeout(deadline, stream.read_bytes(65536, partial=True))
    except (iostream.StreamClosedError, OSError, TimeoutError, AttributeError):
        pass
    stream.close()


class _App:
    """Runs the WSGI app in a thread of the pool for a request tornado has read whole."""

    def __init__(self, wsgi: Callable, pool: ThreadPoolExecutor) -> None:
        self.wsgi, self.pool, self.active = wsgi, pool, 0

    def __call__(self, request: httputil.HTTPServerRequest) -> None:
        IOLoop.current().spawn_callback(self.handle, request)

    async def handle(self, request: httputil.HTTPServerRequest) -> None:
        self.active += 1
        try:
            try:
                status, headers, body = await IOLoop.current().run_in_executor(
                    self.pool, self.run, environ(request))
            except Exception:   # the app answers its own errors: this is the server's
                log.exception("the server failed on %s %s", request.method, request.path)
                await _reply_and_close(request.connection.stream, 500,
                                       "Something went wrong on the server.")
                return
            code, reason = status.split(" ", 1)
            response = httputil.HTTPHeaders()
            for name, value in headers:
                response.add(name, value)
            response.setdefault("Server", SERVER)
            response.setdefault("Date", formatdate(usegmt=True))
            request.connection.write_headers(
                httputil.ResponseStartLine("HTTP/1.1", int(code), reason), response, chunk=body)
            request.connection.finish()
        except (iostream.StreamClosedError, OSError):
            pass   # the client left before its reply
        finally:
            self.active -= 1

    def run(self, env: dict[str, Any]) -> tuple[str, list, bytes]:
        """The app's status, headers and whole body (our replies are small JSON and pages)."""
        reply: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            reply["status"], reply["headers"] = status, headers
            return lambda data: reply.setdefault("early", []).append(data)

        chunks = self.wsgi(env, start_response)
        try:
            body = b"".join(reply.get("early", []) + list(chunks))
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return reply["status"], reply["headers"], body


def environ(request: httputil.HTTPServerRequest) -> dict[str, Any]:
    """The WSGI environment of a request read whole (PEP 3333)."""
    host, sep, port = request.host.rpartition(":")
    if not (sep and host and port.isdigit()):   # no port, or an IPv6 address without one
        host, port = request.host, "443" if request.protocol == "https" else "80"
    path, _, query = request.uri.partition("?")
    env = {
        "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
        "PATH_INFO": url_unescape(path, encoding=None, plus=False).decode("latin-1"),
        "QUERY_STRING": query, "REMOTE_ADDR": request.remote_ip, "SERVER_NAME": host,
        "SERVER_PORT": port, "SERVER_PROTOCOL": request.version, "RAW_URI": request.uri,
        "wsgi.version": (1, 0), "wsgi.url_scheme": request.protocol,
        "wsgi.input": BytesIO(request.body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(request.body)),
    }
    if getattr(request.connection, "body_skipped", False):
        # The declared length, for the app to refuse; the body itself was never read.
        env["CONTENT_LENGTH"] = request.headers["Content-Length"].split(",")[0].strip()
    for name, value in request.headers.get_all():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            env[key] = value
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue   # the body is read whole: its length is what was read
        key = "HTTP_" + key
        env[key] = f"{env[key]},{value}" if key in env else value
    return env


class Worker(TornadoWorker):
    """gunicorn's tornado worker with deadlines on reading, JSON errors, the app in a pool of
    `--threads` threads, and a stop that lets the requests in progress finish."""

    @classmethod
    def setup(cls) -> None:
        """Not gunicorn's: it would add its version to tornado.web's Server header."""

    def run(self) -> None:
        self.ioloop = IOLoop.current()
        self.alive, self.server_alive, self.stop_by = True, True, None
        self.pool = ThreadPoolExecutor(max(1, self.cfg.threads), thread_name_prefix="request")
        self.app = _App(self.wsgi, self.pool)
        _Connection.limit_for = staticmethod(endpoint_limits(self.wsgi))
        worker = self

        class Server(HTTPServer):
            def handle_stream(self, stream, address):
                # Past gunicorn's worker_connections a new connection is answered and closed
                # at once: sockets and buffers stay bounded however many clients connect.
                if len(self._connections) >= worker.cfg.worker_connections:
                    IOLoop.current().spawn_callback(
                        _reply_and_close, stream, 503,
                        "The server is at its connection limit; try again in a moment.")
                    return
                context = _context(stream, address, self.protocol, self.trusted_downstream)
                conn = _ServerConnection(stream, self.conn_params, context)
                self._connections.add(conn)
                conn.start_serving(self)

            def on_close(self, server_conn):
                worker.handle_request()
                super().on_close(server_conn)

        self.server = Server(self.app, no_keep_alive=self.cfg.keepalive <= 0,
                             idle_connection_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT,
                             max_header_size=MAX_HEADER_BYTES, max_body_size=body_limit(self.wsgi),
                             decompress_request=False)
        for sock in self.sockets:
            sock.setblocking(False)
            self.server.add_socket(sock)
        self.callbacks = [PeriodicCallback(self.watchdog, 1000),
                          PeriodicCallback(self.heartbeat, 200)]
        for callback in self.callbacks:
            callback.start()
        self.ioloop.start()
        self.pool.shutdown(wait=False)
        # Issued answer ids and unanswered questions still queued for SQLite: gunicorn's
        # worker_exit ends the process with os._exit (bot/gunicorn_conf.py), which runs no atexit
        # handler. Longer than a request's wait: another process may hold the lock for its
        # busy timeout.
        from ..feedback.store import EXIT_FLUSH_WAIT, flush_all
        flush_all(EXIT_FLUSH_WAIT)

    def heartbeat(self) -> None:
        """Once told to stop: stop accepting, let requests in progress finish (for at most
        graceful_timeout), then stop."""
        if self.alive:
            return
        if self.server_alive:
            self.server_alive = False
            self.server.stop()
            self.stop_by = time.monotonic() + self.cfg.graceful_timeout
        elif not self.app.active or time.monotonic() > self.stop_by:
            for callback in self.callbacks:
                callback.stop()
            self.ioloop.stop()


def endpoint_limits(app: Any) -> Callable[[str, str], int]:
    """The body limit of each request as the app applies it (bot.web.errors.refuse_large_body):
    MAX_UPLOAD_LENGTH for the admin blueprint, MAX_CONTENT_LENGTH for everything else."""
    from ..settings import BY_KEY

    config = getattr(app, "config", {})
    small, large = (int(config.get(key, BY_KEY[key].default))
                    for key in ("MAX_CONTENT_LENGTH", "MAX_UPLOAD_LENGTH"))
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        return lambda method, path: max(small, large)
    adapter = url_map.bind("localhost")

    def limit_for(method: str, path: str) -> int:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except Exception:   # unknown path or method: the app answers 404/405 unread
            return small
        return large if str(endpoint).startswith("admin.") else small

    return limit_for


def body_limit(app: Any) -> int:
    """The largest body any endpoint of the app accepts (the app refuses smaller ones itself,
    per endpoint, from the declared length)."""
    from ..settings import BY_KEY

    config = getattr(app, "config", {})
    return max(int(config.get(key, BY_KEY[key].default))
               for key in ("MAX_CONTENT_LENGTH", "MAX_UPLOAD_LENGTH"))


def _context(stream, address, protocol, trusted_downstream):
    from tornado.httpserver import _HTTPRequestContext
    return _HTTPRequestContext(stream, address, protocol, trusted_downstream)
