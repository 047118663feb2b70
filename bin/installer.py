"""bin/install and bin/uninstall: put the portal in production on this server.

Run as root, on the system Python with the standard library only, and not
part of the Django package: nothing the service user could have written is
imported or run as root. Before it imports anything else (the steps live in
the ``installation`` package and ``safe_paths`` beside this file), it
proves that root alone can change the checkout (``untrusted_checkout``).
Loaded as a plain module (backup/deployment/checks.py reads
``wrapper_names``), it imports nothing from the checkout.

All paths default to the real ones and move together under --prefix (tests
install into a temporary prefix); the sudoers file is the exception, since
sudo only reads /etc/sudoers.d.
"""

import os
import pwd
import stat
import sys
from pathlib import Path

# Not resolved: a symlinked component must be seen (and refused), not followed.
BIN = Path(os.path.abspath(__file__)).parent
REPO = BIN.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
# Parts of a checkout that root never imports, runs or copies: git's data,
# the demo's state (it holds mounted user volumes) and test screenshots.
NOT_INSTALLED = {".git", "var", "test-artifacts"}


def wrapper_names(directory):
    """The wrappers in a wrappers directory: its executable *.py files.

    The one definition of what a wrapper is: the settings files beside them
    are plain (not executable) .py files, and so is anything root-only that
    must never be in sudoers.
    """
    names = []
    for entry in os.scandir(directory):
        if (
            entry.name.endswith(".py")
            and entry.is_file(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mode & stat.S_IXUSR
        ):
            names.append(entry.name)
    return sorted(names)


# --- Whom root may trust ------------------------------------------------------


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _unsafe(path, info, *, sticky_ok=False):
    """Why an lstat result means someone but root could change path, or None."""
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link"
    if info.st_uid != 0:
        return f"{path} is owned by {_owner_name(info.st_uid)}, not root"
    # In a sticky directory (/tmp) only an entry's owner may rename or
    # remove it, so a root-owned checkout below one stays root's.
    sticky = sticky_ok and stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
        return f"{path} is writable by others than root"
    return None


def untrusted_path(path):
    """Why root can't trust path and every directory above it, or None.

    Each component is looked at without following it: a symlinked
    component is refused, since whoever may re-point it decides what root
    reads next time."""
    path = Path(os.path.abspath(path))
    for component in (*reversed(path.parents), path):
        try:
            info = os.lstat(component)
        except OSError as error:
            return f"{component}: {error.strerror}"
        problem = _unsafe(component, info, sticky_ok=component != path)
        if problem:
            return problem
    return None


def untrusted_checkout(repo=None):
    """Why root must not import, run or copy anything from the checkout, or
    None when root alone can change the checkout, every directory above it
    and every file in it (git's data and the demo's state excepted)."""
    repo = Path(repo or REPO)
    problem = untrusted_path(repo)
    if problem:
        return problem
    checked_targets = {}
    for directory, subdirs, files in os.walk(repo):
        if Path(directory) == repo:
            subdirs[:] = [name for name in subdirs if name not in NOT_INSTALLED]
        for name in (*subdirs, *files):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                # The virtualenv links its interpreter to the system's: a link
                # is fine when what it leads to is root's alone.
                target = os.path.realpath(path)
                if target not in checked_targets:
                    checked_targets[target] = untrusted_path(target)
                if checked_targets[target]:
                    return f"{path} leads to {target}: {checked_targets[target]}"
                continue
            problem = _unsafe(path, info)
            if problem:
                return problem
    return None


class CheckoutRefused(Exception):
    pass


def _trust_checkout(command):
    """Refuse, before anything is imported, run or copied as root, a checkout
    that anyone but root could have changed."""
    problem = untrusted_checkout()
    if problem:
        raise CheckoutRefused(
            f"refusing to run as root from {REPO}: {problem}. Root would run and install "
            "code that account could change. Put the checkout where only root can change it "
            f"(for example /opt/backupmanagement/portal, owned by root), then run {command} "
            "from there. Nothing was changed."
        )


def _steps(command):
    """The installer's modules, once the checkout that holds them is proved
    root's (when run as root). -I leaves the script's directory off sys.path."""
    if os.geteuid() == 0:
        _trust_checkout(command)
    sys.path.insert(0, str(BIN))
    from installation import install, layout, uninstall

    return install, layout, uninstall


def install_main(argv=None):
    try:
        install, layout, _ = _steps("bin/install")
    except CheckoutRefused as refused:
        sys.exit(f"bin/install: {refused}")
    args = layout.parser().parse_args(argv)
    if args.print_sudoers:
        args.hostname = args.hostname or "localhost"
        texts = install.Texts(layout.layout_from(args), wrapper_names)
        print(texts.sudoers(from_source=True), end="")
        return
    try:
        if os.geteuid() != 0:
            raise layout.InstallError("run as root (sudo bin/install)")
        if not VENV_PYTHON.exists():
            raise layout.InstallError("no virtualenv: run sudo bin/setup first")
        installer = install.Installer(layout.layout_from(args), wrapper_names)
        installer.run()
    except layout.InstallError as error:
        sys.exit(f"bin/install: {error}")
    if installer.changes:
        print(f"bin/install: done, {installer.changes} changes.")
        print(
            "Next: check the server as the service user:\n"
            f"  sudo -u {args.user} env DJANGO_SETTINGS_MODULE=backup.settings.production "
            f"BACKUP_CONFIG={installer.layout.config} {VENV_PYTHON} {REPO}/manage.py "
            "check_prerequisities"
        )
    else:
        print("bin/install: nothing to change, already installed.")


def uninstall_main(argv=None):
    try:
        _, layout, uninstall = _steps("bin/uninstall")
    except CheckoutRefused as refused:
        sys.exit(f"bin/uninstall: {refused}")
    p = layout.parser()
    p.prog = "bin/uninstall"
    p.description = "Undo bin/install (give it the same options)."
    p.add_argument(
        "--purge",
        action="store_true",
        help="also remove the database, RRDs, logs and the service user",
    )
    args = p.parse_args(argv)
    try:
        if os.geteuid() != 0:
            raise layout.InstallError("run as root (sudo bin/uninstall)")
        uninstall.Uninstaller(layout.layout_from(args), args.purge).run()
    except layout.InstallError as error:
        sys.exit(f"bin/uninstall: {error}")


if __name__ == "__main__":
    command = sys.argv.pop(1) if len(sys.argv) > 1 else ""
    if command == "install":
        install_main()
    elif command == "uninstall":
        uninstall_main()
    else:
        sys.exit("usage: installer.py install|uninstall [options] (use bin/install, bin/uninstall)")
