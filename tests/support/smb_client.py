"""The SMB session every test client opens, the way a real client does:
smbprotocol (a pure-Python SMB 2/3 client) over a real NTLM-signed session
and a tree connect to one share. samba_mac.MacClient and
samba_windows.WindowsClient add what their platform sends on top of it.

    with SmbClient(port, user, password, share) as client:
        Open(client.tree, "file")
"""

import uuid

from smbprotocol.connection import Connection
from smbprotocol.open import ShareAccess
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

SHARE_ALL = (
    ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE
)


class SmbClient:
    """Connected, logged on and attached to ``share`` once made; closed by
    ``with`` (or at once when any of it fails, so no test leaves a
    connection to smbd open). session_options go to smbprotocol's Session."""

    def __init__(self, port, user, password, share, host="127.0.0.1", **session_options):
        self.connection = Connection(uuid.uuid4(), host, port)
        self.connection.connect(timeout=30)
        try:
            self.session = Session(
                self.connection, user, password, auth_protocol="ntlm", **session_options
            )
            self.session.connect()
            self.tree = TreeConnect(self.session, rf"\\{host}\{share}")
            self.tree.connect()
            self.connected()
        except BaseException:
            self.connection.disconnect()
            raise

    def connected(self):
        """What a client does first on the share (nothing by default)."""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.connection.disconnect()
