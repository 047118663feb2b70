"""The floors of ``backup/``, lowest first. A module of an app may import
only apps on a floor below its own (its own app, Django and the standard
library always); apps on one floor don't import each other. Data flows
down: a page on a higher floor composes what lower ones tell it, and a lower
app that must reach a higher one is told through Django's machinery (a URL
name, a template, a signal, a setting), never an import.
tests/test_layers.py reads every import under backup/ (function-level ones
too) and fails on any other arrow. The project's own modules (settings,
urls, wsgi, logs, this one) stand above every floor; no app imports them.
"""

FLOORS: tuple[tuple[str, ...], ...] = (
    # The ground: the error a user is told about and the middleware showing
    # it, the password generator, sizes and times as pages write them.
    ("core",),
    # What every feature stands on: the shared pages and the language
    # remembered for emails, the one client that runs the wrappers, the
    # Samba configuration, single sign-on and its names.
    ("pages", "privileged", "samba", "sso"),
    # The storage servers of a portal with more than one, and what each
    # reports about itself: where a volume's operations are sent.
    ("nodes",),
    # The queue every change to a volume goes through.
    ("operations",),
    # The volume itself: creating, growing, deleting it, its state.
    ("volumes",),
    # A volume's statistics: the space used, recorded every 5 minutes.
    ("stats",),
    # What a volume has besides: its password, its owner's alerts (the
    # scheduled collection that ends in the space alerts lives here).
    ("alerts", "passwords"),
    # What is found on and kept of a volume: the backups scanned, snapshots.
    ("discovery", "snapshots"),
    # The copies on the second server: what the replica last reported.
    ("replica",),
    # Views across volumes and what the computers report: admins' pages,
    # monitoring figures, deployment checks, check-ins.
    ("checkins", "deployment", "metrics", "staff"),
    # The employee's page, composed from all of the above.
    ("dashboard",),
)

# Imports that go against the floors, each with why it stays:
# (importing module, imported app) -> reason.
EXCEPTIONS: dict[tuple[str, str], str] = {}
