"""fetch_backups.py reports as the tests write them, parsed by the portal's
own parser (the one the privileged client applies to the real wrapper's
output), so that a hand-written report the wrapper could not print fails
where it is written, saying which field is wrong.

A test names only what it is about: the fields it leaves out get the value
the wrapper prints when it found nothing of that kind (no machine name, no
count, nothing more left out)."""

from backup.privileged import results

SOURCE = {
    "machine": None,
    "path": ".",
    "last_backup": None,
    "backups": None,
    "state": "complete",
    "size_bytes": None,
    "size_estimated": None,
    "evidence": None,
    "in_progress_since": None,
}


def wrapper_report(raw):
    """``raw`` completed and parsed into the client's BackupReport."""
    completed = {
        "truncated": False,
        "more_sources": 0,
        "more_unrecognised": 0,
        **raw,
        "sources": [{**SOURCE, **item} for item in raw.get("sources", [])],
        "unrecognised": [{"modified": None, **item} for item in raw.get("unrecognised", [])],
    }
    return results.parse("fetch_backups.py", completed, results.backup_report)
