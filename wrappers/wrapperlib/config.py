"""The wrappers' configuration: wrappers_settings.py, overridden by an
optional root-owned local_settings.py in the same directory.

Both are checked before they are read: a file or directory that a non-root
user could write means a compromised service account could run code as root.
"""

import importlib.util
import os
import stat
import types

from .errors import Refusal

# Plain os.path strings: pathlib would be imported for this alone.
WRAPPERS_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def _check_root_owned(path):
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise Refusal(f"unsafe installation: {path} is a symlink")
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Refusal(
            f"unsafe installation: {path} must be owned by root and writable by root only"
        )


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load():
    library = os.path.join(WRAPPERS_DIR, "wrapperlib")
    packages = [entry.path for entry in os.scandir(library) if entry.is_dir(follow_symlinks=False)]
    # The bytecode the installer compiled is imported like the source.
    caches = [
        cache
        for cache in (os.path.join(path, "__pycache__") for path in (WRAPPERS_DIR, *packages))
        if os.path.lexists(cache)
    ]
    defaults_file = os.path.join(WRAPPERS_DIR, "wrappers_settings.py")
    for path in (WRAPPERS_DIR, library, *packages, *caches, defaults_file):
        _check_root_owned(path)
    defaults = _load_module("wrappers_settings", defaults_file)
    values = {k: v for k, v in vars(defaults).items() if k.isupper()}
    local = os.path.join(WRAPPERS_DIR, "local_settings.py")
    if os.path.lexists(local):
        _check_root_owned(local)
        overrides = _load_module("local_settings", local)
        unknown = sorted(k for k in vars(overrides) if k.isupper() and k not in values)
        if unknown:
            raise Refusal(f"local_settings.py sets unknown settings: {', '.join(unknown)}")
        values.update({k: v for k, v in vars(overrides).items() if k.isupper()})
    values["PROTECTED_USERS"] = frozenset(values["PROTECTED_USERS"]) | {"root"}
    return types.SimpleNamespace(**values)


_settings = None


def settings():
    """The effective settings, loaded once per process."""
    global _settings
    if _settings is None:
        _settings = _load()
    return _settings
