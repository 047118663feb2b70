"""The connect card's command blocks, by their data-testid, and the
Connection attribute each one shows (tests/test_connect*.py)."""

COMMANDS = {
    "connect-windows-map": "windows_map",
    "connect-windows": "windows",
    "connect-mac": "smb_url",
    "connect-mac-tmutil": "mac_tmutil",
    "connect-linux-install": "linux_install",
    "connect-linux-mkdir": "linux_mkdir",
    "connect-linux-credentials": "linux_credentials",
    "connect-linux-fstab": "linux_fstab",
    "connect-linux-mount": "linux_mount_fstab",
    "connect-restic-init": "restic_init",
    "connect-restic-backup": "restic_backup",
    "connect-smbclient": "smbclient",
}
