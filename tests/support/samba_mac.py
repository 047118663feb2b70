"""An SMB client that talks to the server the way a Mac does, for tests.

macOS opens its first file on a share with Apple's create context ("AAPL",
a server query) and learns from the reply whether the server speaks Apple's
extensions, which capabilities the volume has (Time Machine needs FULLSYNC),
and which model icon to show. smbclient can't send that context; smbprotocol
(a pure-Python SMB 2/3 client) can, over a real signed and encrypted session.

    with MacClient(port, user, password, share) as mac:
        mac.aapl.volume_caps & VOLUME_CAPS_FULL_SYNC
        mac.mkdir("Mac.sparsebundle"); mac.write("Mac.sparsebundle/Info.plist", data)
        mac.write("file", data, stream="com.apple.metadata\uf022_kMDItemUserTags")
"""

import struct
from dataclasses import dataclass

from smbprotocol.create_contexts import SMB2CreateContextRequest
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
)

from .smb_client import SHARE_ALL, SmbClient

# Apple's SMB2 create context (as in Samba's libcli/smb/smb2_create_ctx.h).
AAPL = b"AAPL"
AAPL_SERVER_QUERY = 1
QUERY_SERVER_CAPS = 0x1
QUERY_VOLUME_CAPS = 0x2
QUERY_MODEL_INFO = 0x4
CLIENT_CAPS = 0x1 | 0x2 | 0x4  # read dir attr, OS X copyfile, UNIX based
SERVER_CAPS_UNIX_BASED = 0x4
VOLUME_CAPS_FULL_SYNC = 0x4  # what marks a Time Machine destination


@dataclass(frozen=True)
class AaplReply:
    server_caps: int
    volume_caps: int
    model: str

    @classmethod
    def parse(cls, data):
        command, _reserved, bitmap = struct.unpack_from("<IIQ", data, 0)
        if command != AAPL_SERVER_QUERY:
            raise ValueError(f"not a server query reply: {data!r}")
        offset = 16
        server_caps = volume_caps = 0
        model = ""
        if bitmap & QUERY_SERVER_CAPS:
            (server_caps,) = struct.unpack_from("<Q", data, offset)
            offset += 8
        if bitmap & QUERY_VOLUME_CAPS:
            (volume_caps,) = struct.unpack_from("<Q", data, offset)
            offset += 8
        if bitmap & QUERY_MODEL_INFO:
            _pad, length = struct.unpack_from("<II", data, offset)
            model = data[offset + 8 : offset + 8 + length].decode("utf-16-le")
        return cls(server_caps, volume_caps, model)


def _aapl_query():
    context = SMB2CreateContextRequest()
    context["buffer_name"] = AAPL
    context["buffer_data"] = struct.pack(
        "<IIQQ",
        AAPL_SERVER_QUERY,
        0,
        QUERY_SERVER_CAPS | QUERY_VOLUME_CAPS | QUERY_MODEL_INFO,
        CLIENT_CAPS,
    )
    return context


class MacClient(SmbClient):
    def __init__(self, port, user, password, share, host="127.0.0.1"):
        # require_encryption=False: whether the server turns encryption
        # on is what the tests check (session.encrypt_data).
        super().__init__(port, user, password, share, host, require_encryption=False)

    def connected(self):
        self.aapl = self._negotiate_aapl()

    def _negotiate_aapl(self):
        """The first open on the share, with the AAPL query (as a Mac does)."""
        root = Open(self.tree, "")
        replies = root.create(
            ImpersonationLevel.Impersonation,
            DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.FILE_READ_ATTRIBUTES,
            FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
            SHARE_ALL,
            CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_DIRECTORY_FILE,
            [_aapl_query()],
        )
        root.close()
        # smbprotocol returns the data of contexts it doesn't know (AAPL) as
        # bytes, without their names; AAPL is the only one asked for here.
        for reply in replies or []:
            if isinstance(reply, bytes):
                return AaplReply.parse(reply)
        return None

    @staticmethod
    def _smb_path(path):
        return path.replace("/", "\\")

    def mkdir(self, path):
        directory = Open(self.tree, self._smb_path(path))
        directory.create(
            ImpersonationLevel.Impersonation,
            DirectoryAccessMask.GENERIC_READ | DirectoryAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
            SHARE_ALL,
            CreateDisposition.FILE_CREATE,
            CreateOptions.FILE_DIRECTORY_FILE,
        )
        directory.close()

    def write(self, path, data, stream=None):
        """Create or replace a file (or one of its named streams) with data."""
        name = self._smb_path(path) + (f":{stream}" if stream else "")
        handle = Open(self.tree, name)
        handle.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            SHARE_ALL,
            CreateDisposition.FILE_OVERWRITE_IF,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        try:
            chunk = self.connection.max_write_size
            for offset in range(0, len(data), chunk):
                handle.write(data[offset : offset + chunk], offset)
        finally:
            handle.close()

    def reopen(self, path, access):
        """Open an existing file with this access mask, then close it; an
        access the server refuses raises (smbprotocol's SMBResponseException)."""
        handle = Open(self.tree, self._smb_path(path))
        handle.create(
            ImpersonationLevel.Impersonation,
            access,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            SHARE_ALL,
            CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        handle.close()

    def read(self, path, stream=None):
        name = self._smb_path(path) + (f":{stream}" if stream else "")
        handle = Open(self.tree, name)
        handle.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            SHARE_ALL,
            CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        try:
            data = b""
            chunk = self.connection.max_read_size
            while len(data) < handle.end_of_file:
                data += handle.read(len(data), min(chunk, handle.end_of_file - len(data)))
            return data
        finally:
            handle.close()
