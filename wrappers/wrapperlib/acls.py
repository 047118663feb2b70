"""POSIX ACLs on a volume's root, through Debian's python3-pylibacl."""

import posix1e


def owner_only(fd, uid):
    """Access and default ACL on the directory open at fd: uid (and the
    owner) rwx, the group and everyone else nothing. The default ACL makes
    everything the backup tools create below inherit the same."""
    acl = posix1e.ACL(text=f"u::rwx,u:{uid}:rwx,g::---,m::rwx,o::---")
    acl.applyto(fd)
    # A default ACL can only be set by path: this one names the open
    # directory itself, so no symlink can redirect it.
    acl.applyto(f"/proc/self/fd/{fd}", posix1e.ACL_TYPE_DEFAULT)


def readable_by(fd, uid):
    """Root's directory open at fd: uid may list and enter it, nothing more;
    nobody else anything (the snapshot folder smbd reads as the user)."""
    posix1e.ACL(text=f"u::rwx,u:{uid}:r-x,g::---,m::r-x,o::---").applyto(fd)
