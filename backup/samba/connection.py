"""How a person reaches their volume: the addresses the portal shows.

They name the share the Samba configuration serves (config.py: a [homes]
share, one per account) on the port it listens on, so the instructions and
the server can't drift apart. Port 445 is left out of every address; any
other port (the demo's) is written out where the client can take it.

The connect card's commands are built here, not in the template: they are
code, the same in every language, and tests run the Linux ones as shown.
Account names are portal-validated (lower-case letters, digits, - and _) and
the host is the administrator's setting, so none of them needs shell quoting.
No command ever carries the password: each one asks for it.
"""

from dataclasses import dataclass

from django.conf import settings

from . import config

STANDARD_PORT = 445
LINUX_MOUNT_POINT = "/mnt/backup"
# Root-only (mode 600, made under umask 077): mount.cifs reads it as root.
LINUX_CREDENTIALS = "/root/.backup-credentials"
FSTAB = "/etc/fstab"
# B: is free on every current Windows (it was the second floppy drive).
WINDOWS_DRIVE = "B:"


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    account: str
    # Where the Linux steps put things; tests point them into a scratch folder.
    mount_point: str = LINUX_MOUNT_POINT
    credentials: str = LINUX_CREDENTIALS
    fstab: str = FSTAB

    @classmethod
    def for_account(cls, account):
        return cls(host=settings.SERVER_HOSTNAME, port=config.port(), account=account)

    @property
    def afp_offered(self) -> bool:
        """AFP (netatalk, INSTALL.afp.txt) is shown only where the
        administrator says the server runs it."""
        return bool(getattr(settings, "AFP_OFFERED", False))

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
            f"sudo mount -t cifs //{self.host}/{self.account} {self.mount_point} "
            f"-o username={self.account},uid=$(id -u){port}"
        )

    # --- Windows ---------------------------------------------------------------

    @property
    def windows_map(self) -> str:
        """Maps the share as a drive; ``*`` makes net use ask for the
        password instead of taking it on the command line."""
        return f"net use {WINDOWS_DRIVE} {self.windows} * /user:{self.account} /persistent:yes"

    @property
    def windows_script_name(self) -> str:
        return f"connect-backup-{self.account}.cmd"

    @property
    def windows_script(self) -> str:
        """The downloadable .cmd: the same net use command, with CRLF line
        ends (cmd.exe's own) and a pause so that its result stays readable."""
        lines = [
            "@echo off",
            f"rem Connects drive {WINDOWS_DRIVE} to the backup volume {self.windows}",
            f"rem as {self.account}. Windows asks for the backup password;",
            "rem it is not written in this file.",
            self.windows_map,
            "if errorlevel 1 (",
            "    echo The drive was not connected: check the backup password and try again.",
            "    pause",
            "    exit /b 1",
            ")",
            f"echo Connected: {WINDOWS_DRIVE} is your backup volume.",
            "pause",
        ]
        return "\r\n".join(lines) + "\r\n"

    # --- macOS -----------------------------------------------------------------

    @property
    def mac_tmutil(self) -> str:
        """Time Machine's destination in one line; -p makes tmutil ask for
        the password."""
        port = "" if self.standard_port else f":{self.port}"
        return (
            f"sudo tmutil setdestination -ap smb://{self.account}@{self.host}{port}/{self.account}"
        )

    @property
    def afp_url(self) -> str:
        return f"afp://{self.host}/{self.account}"

    # --- Linux -----------------------------------------------------------------

    @property
    def linux_install(self) -> str:
        return "sudo apt install cifs-utils"

    @property
    def linux_mkdir(self) -> str:
        return f"sudo mkdir -p {self.mount_point}"

    @property
    def linux_credentials(self) -> str:
        """Asks for the password without echoing it and writes the root-only
        file mount.cifs reads (smbclient -A reads the same file)."""
        return (
            'sudo sh -c \'umask 077; printf "Backup password: " >&2; stty -echo 2>/dev/null; '
            "IFS= read -r p; stty echo 2>/dev/null; echo >&2; "
            f'printf "username=%s\\npassword=%s\\n" {self.account} "$p" > {self.credentials}\''
        )

    @property
    def linux_fstab_line(self) -> str:
        port = "" if self.standard_port else f",port={self.port}"
        return (
            f"//{self.host}/{self.account} {self.mount_point} cifs "
            f"credentials={self.credentials},uid=$(id -u),gid=$(id -g){port},_netdev,nofail 0 0"
        )

    @property
    def linux_fstab(self) -> str:
        """Appends the line; $(id -u) is the person's own number, expanded
        by their shell before sudo runs."""
        return f'echo "{self.linux_fstab_line}" | sudo tee -a {self.fstab}'

    @property
    def linux_mount_fstab(self) -> str:
        return f"sudo mount {self.mount_point}"

    @property
    def restic_repository(self) -> str:
        return f"{self.mount_point}/restic"

    @property
    def restic_init(self) -> str:
        return f"restic -r {self.restic_repository} init"

    @property
    def restic_backup(self) -> str:
        return f"restic -r {self.restic_repository} backup ~"
