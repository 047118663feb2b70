"""bin/install and bin/uninstall, by concern: layout (paths, names and the
table of managed paths), texts (the files written), system (accounts,
processes, commands), install, uninstall. bin/installer.py proves the
checkout is root's before any of it is imported; bin/safe_paths.py does
every file operation on a managed path."""
