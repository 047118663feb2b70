"""An HTTP server on the loopback (random port) that keeps every request it
gets, whatever the method: what an alert channel sent, or that nothing came."""

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """``requests``: (method, path, headers, body) in arrival order; ``posts``:
    (path, content type, body) of the POSTs. Answers ``status`` (with
    ``location`` as a Location header, for a redirect), over TLS when given
    ``tls=(certificate, key)``."""

    def __init__(self, status=200, location=None, host="127.0.0.1", tls=None):
        self.requests = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length", 0))
                received.append(
                    (self.command, self.path, dict(self.headers), self.rfile.read(length))
                )
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
            setattr(Handler, f"do_{method}", Handler._any)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:  # (certificate, key): answer https only
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def posts(self):
        return [
            (path, headers.get("Content-Type"), body)
            for method, path, headers, body in self.requests
            if method == "POST"
        ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
