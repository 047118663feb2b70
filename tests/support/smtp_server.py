"""A minimal SMTP server on the loopback (standard library only: smtpd is
gone from Python 3.12 and aiosmtpd is not installed), enough for Django's
SMTP backend: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps each
message it accepted; it can be started on a port chosen while it was down."""

import email
import email.policy
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def _say(self, line):
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self._say("220 test SMTP ready")
        sender, recipients = None, []
        while line := self.rfile.readline(10_000):
            command = line.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip(), []
                self._say("250 OK")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                data = bytearray()
                while (chunk := self.rfile.readline(100_000)) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = email.message_from_bytes(bytes(data), policy=email.policy.default)
                self.server.messages.append((sender, recipients, message))
                self._say("250 accepted")
            elif verb in ("RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SMTPServer:
    """``messages``: (sender, recipients, email.message.EmailMessage)."""

    def __init__(self, port=0):
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.messages = self.messages = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def subjects(self):
        return [str(message["Subject"]) for _sender, _to, message in self.messages]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
