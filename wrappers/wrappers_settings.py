"""Defaults for the privileged wrappers.

Override any of these in a root-owned ``local_settings.py`` beside this file
(mode 0600 or 0644, owned by root): the wrappers refuse to read one that the
service user could have written. Nothing is read from the environment.
"""

# Storage backend: "loopfile" (one sparse image per user in LOOPFILE_POOL) or
# "lvm" (one logical volume per user in VOLUME_GROUP, as in the original).
BACKEND = "loopfile"

# Mount points: <DIRECTORIES_ROOT>/<user>.
DIRECTORIES_ROOT = "/srv/userbackup"

# loopfile backend: where the images live, and how much of that filesystem
# the pool may hand out (None: all of it).
LOOPFILE_POOL = "/srv/backuppool"
LOOPFILE_POOL_SIZE_GIB = None

# lvm backend.
VOLUME_GROUP = "backupdisks"
# False only for testing on kernels without device-mapper: metadata only
# (--driverloaded n, no activation, no zeroing); volumes can't be mounted.
LVM_ACTIVATION = True

# Accounts: backup accounts are created in MANAGED_GROUP with a uid in this
# range; no other account can be changed or deleted through the wrappers.
MANAGED_GROUP = "backupusers"
ACCOUNT_UID_MIN = 20000
ACCOUNT_UID_MAX = 59999
ACCOUNT_SHELL = "/usr/sbin/nologin"
# Refused by every wrapper: their passwords and files are never touched.
# Add the server's administrators here, as the original README advised.
PROTECTED_USERS = ("root",)
# Names never given to a backup account, even while no such account exists
# (on top of the system and service accounts wrapperlib/validate.py knows,
# such as sshd or postgres): for example the names of services to come.
RESERVED_NAMES = ()

# Largest volume, in GiB, any call may create or grow to.
MAX_VOLUME_GIB = 4096

# Samba configuration whose passdb smbpasswd.py and deluser.py change.
SAMBA_CONFIG = "/etc/samba/smb.conf"

# One lock per volume (and one for the pool) so operations never interleave.
# Only root may create or use it (wrapperlib/locks.py): never under /run/lock
# or another directory everyone can write to.
LOCK_DIR = "/run/backupmanagement-wrappers"
LOCK_TIMEOUT_SECONDS = 60

# Records that must outlive a reboot (which volumes are suspended), root's
# alone (mode 0700, made when missing; refused when anyone else could write
# it). Also the wrappers' private mounts live in LOCK_DIR, gone at reboot
# like the mounts themselves.
STATE_DIR = "/var/lib/backupmanagement-wrappers"

# Where the wrappers' syslog lines go.
SYSLOG_ADDRESS = "/dev/log"

# Bounds for reading what users wrote (backup discovery, Time Machine removal).
SCAN_MAX_ENTRIES = 200000
SCAN_MAX_SECONDS = 20

# Snapshots (btrfs volumes only). Each volume's top level, holding the data
# subvolume and its read-only snapshots, is mounted by root at
# <SNAPSHOTS_ROOT>/<user>, outside every share's path.
SNAPSHOTS_ROOT = "/srv/userbackup-snapshots"
# No wrapper deletes a snapshot younger than this, whatever it is asked.
SNAPSHOT_PROTECTION_DAYS = 14
# How often the schedule (take_snapshots, from cron or the systemd timer)
# takes snapshots, in minutes dividing an hour; keep the schedule equal. The
# snapshot in the first slot of each hour is protected for
# SNAPSHOT_PROTECTION_DAYS; the ones between for the "frequent" window only.
SNAPSHOT_INTERVAL_MINUTES = 15
# Which unprotected snapshots retention keeps: the newest one in each of the
# last N intervals ("frequent": 16, four hours at 15 minutes), hours, days,
# ISO weeks and months (UTC).
SNAPSHOT_RETENTION = {"frequent": 16, "hourly": 24, "daily": 14, "weekly": 8, "monthly": 12}
# Below this share of free space, unprotected snapshots go, the finest-grained
# first and the monthly ones last (snapshots.low_space_order).
SNAPSHOT_MIN_FREE_PERCENT = 10
# Bounds for measuring what changed since the previous snapshot.
SNAPSHOT_CHANGE_MAX_SECONDS = 60
SNAPSHOT_CHANGE_MAX_EXTENTS = 5000000
# Bounds for browsing and restoring from a snapshot (read as the user).
SNAPSHOT_BROWSE_MAX_ENTRIES = 1000
SNAPSHOT_RESTORE_MAX_ENTRIES = 200000
SNAPSHOT_RESTORE_MAX_SECONDS = 600
# Downloading one file from a snapshot (snapshot-read.py): larger files are
# restored instead; the volume's lock is held for at most this long.
SNAPSHOT_DOWNLOAD_MAX_BYTES = 256 * 1024**2
SNAPSHOT_DOWNLOAD_MAX_SECONDS = 300
# Tests only: "YYYY-MM-DDTHH:MM:SSZ" stands in for the clock, so retention and
# protection can be tried over simulated time. Only root can set it (this
# file and local_settings.py are root's); None in production.
SNAPSHOT_CLOCK = None
# Tests only: {"step": N, "signal": "SIGTERM" or "SIGKILL"} makes a wrapper
# signal itself at the Nth boundary between its steps (every command run,
# mount change, rename or record written; wrapperlib/crashsafe.py), so the
# fault-injection test can stop each wrapper at each of them. None in
# production; only root can set it, like SNAPSHOT_CLOCK.
FAULT_INJECTION = None


# Replica server (tools/replica-pull.py, run by root on the second server;
# README "Second server"). On the replica, SNAPSHOT_PROTECTION_DAYS and
# SNAPSHOT_RETENTION above are the replica's own policy for what it holds:
# set them at least as long as the primary's.
# A directory on the replica's btrfs pool, root's: received snapshots go to
# <REPLICA_ROOT>/<user>/snapshots/.
REPLICA_ROOT = "/srv/backupreplica"
# The primary, reached with the replica's key (whose line in the primary's
# root authorized_keys forces tools/snapshot-send.py), its host key pinned.
REPLICA_PRIMARY_HOST = None
REPLICA_PRIMARY_PORT = 22
REPLICA_PRIMARY_USER = "root"
REPLICA_SSH_KEY = "/etc/backupmanagement-replica/id_ed25519"
REPLICA_KNOWN_HOSTS = "/etc/backupmanagement-replica/known_hosts"
# A transfer still running after this long is stopped (and not counted).
REPLICA_TRANSFER_MAX_SECONDS = 6 * 3600
# How often the pull runs: a volume whose newest copy is older than twice
# this is reported as behind.
REPLICA_INTERVAL_MINUTES = 60
# Volumes pulled at once (each volume's snapshots one after another).
REPLICA_PARALLEL_VOLUMES = 4
# One transfer's stream is stopped (and not counted) past this many GiB
# (a snapshot is never larger than the largest volume, MAX_VOLUME_GIB), or
# past the point where the pool would keep less than this share free.
REPLICA_TRANSFER_MAX_GIB = 4096
REPLICA_MIN_FREE_PERCENT = 5
# On the primary: the authorized_keys file holding the replica's key, which
# replica-status.py checks for restrict and the forced command (None: root's
# ~/.ssh/authorized_keys).
REPLICA_AUTHORIZED_KEYS = None
