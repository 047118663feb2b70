"""Shared code of the root-owned wrappers: standard library and Debian's
python3-pylibacl only; never anything from the service user's tree."""
