"""How a person reaches their volume: the addresses the portal shows.

They name the share the Samba configuration serves (config.py: a [homes]
share, one per account) on the port it listens on, so the instructions and
the server can't drift apart. Port 445 is left out of every address; any
other port (the demo's) is written out where the client can take it.
"""

from dataclasses import dataclass

from django.conf import settings

from . import config

STANDARD_PORT = 445
LINUX_MOUNT_POINT = "/mnt/backup"


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    account: str

    @classmethod
    def for_account(cls, account):
        return cls(host=settings.SERVER_HOSTNAME, port=config.port(), account=account)

    @property
    def standard_port(self):
        return self.port == STANDARD_PORT

    @property
    def windows(self):
        """Windows' UNC path; Windows always uses port 445."""
        return f"\\\\{self.host}\\{self.account}"

    @property
    def windows_previous_versions(self):
        """The read-only share of every snapshot as plain folders (config.py:
        the way into folders that no longer exist on the volume)."""
        return f"\\\\{self.host}\\{config.PREVIOUS_VERSIONS_SECTION}"

    @property
    def smb_url(self):
        """For a Mac's Finder (Go, Connect to Server) and Linux file managers."""
        port = "" if self.standard_port else f":{self.port}"
        return f"smb://{self.host}{port}/{self.account}"

    @property
    def smbclient(self):
        port = "" if self.standard_port else f" -p {self.port}"
        return f"smbclient //{self.host}/{self.account}{port} -U {self.account}"

    @property
    def linux_mount(self):
        port = "" if self.standard_port else f",port={self.port}"
        return (
            f"sudo mount -t cifs //{self.host}/{self.account} {LINUX_MOUNT_POINT} "
            f"-o username={self.account},uid=$(id -u){port}"
        )
