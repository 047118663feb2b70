"""What of a volume exists on the server, looked up without changing it."""

import pwd


def account_exists(account: str) -> bool:
    """Whether the backup account is still a Unix account here."""
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True
