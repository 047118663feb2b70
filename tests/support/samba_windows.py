"""An SMB client that asks for Previous Versions the way Windows does.

Explorer's Previous Versions tab never puts "@GMT-…" in the path it sends:
it opens the live name with an SMB2_CREATE_TIMEWARP_TOKEN create context
carrying the snapshot's time ([MS-SMB2] 2.2.13.2.7). smbclient turns a
"@GMT-…" path into that context itself; smbprotocol sends it as asked, so a
test can list a folder and read its files as Explorer's "Open"/"Copy" does.

    with WindowsClient(port, user, password, share) as windows:
        windows.walk("Projects", at=taken)   # {relative path: bytes}
"""

from datetime import UTC, datetime

from smbprotocol.create_contexts import SMB2CreateContextRequest, SMB2CreateTimewarpToken
from smbprotocol.file_info import FileAttributes as InfoAttributes
from smbprotocol.file_info import FileInformationClass
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


def snapshot_time(token):
    """@GMT-YYYY.MM.DD-HH.MM.SS (UTC) as the datetime a timewarp token carries."""
    return datetime.strptime(token, "@GMT-%Y.%m.%d-%H.%M.%S").replace(tzinfo=UTC)


def _timewarp(when):
    token = SMB2CreateTimewarpToken()
    token["timestamp"] = when
    context = SMB2CreateContextRequest()
    context["buffer_name"] = token.NAME
    context["buffer_data"] = token
    return context


class WindowsClient(SmbClient):
    def _open(self, path, directory, at):
        handle = Open(self.tree, path.replace("/", "\\"))
        handle.create(
            ImpersonationLevel.Impersonation,
            (
                DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.FILE_READ_ATTRIBUTES
                if directory
                else FilePipePrinterAccessMask.GENERIC_READ
            ),
            FileAttributes.FILE_ATTRIBUTE_DIRECTORY
            if directory
            else FileAttributes.FILE_ATTRIBUTE_NORMAL,
            SHARE_ALL,
            CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_DIRECTORY_FILE
            if directory
            else CreateOptions.FILE_NON_DIRECTORY_FILE,
            [_timewarp(snapshot_time(at))] if at else None,
        )
        return handle

    def listdir(self, path, at=None):
        """{name: is a folder} of one folder, as Explorer lists it."""
        handle = self._open(path, True, at)
        try:
            entries = handle.query_directory("*", FileInformationClass.FILE_DIRECTORY_INFORMATION)
        finally:
            handle.close()
        found = {}
        for entry in entries:
            name = entry["file_name"].get_value().decode("utf-16-le")
            if name not in (".", ".."):
                attributes = entry["file_attributes"].get_value()
                found[name] = bool(attributes & InfoAttributes.FILE_ATTRIBUTE_DIRECTORY)
        return found

    def read(self, path, at=None):
        handle = self._open(path, False, at)
        try:
            data = b""
            chunk = self.connection.max_read_size
            while len(data) < handle.end_of_file:
                data += handle.read(len(data), min(chunk, handle.end_of_file - len(data)))
            return data
        finally:
            handle.close()

    def walk(self, path, at=None):
        """{path relative to the share: bytes} of every file below path:
        list each folder, then read each file, as a folder copy does."""
        files = {}
        for name, is_folder in self.listdir(path, at).items():
            child = f"{path}/{name}" if path else name
            if is_folder:
                files.update(self.walk(child, at))
            else:
                files[child] = self.read(child, at)
        return files
