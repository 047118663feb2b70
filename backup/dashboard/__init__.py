"""The top floor: the employee's page, composed from what the apps below
tell about a volume (its state, its snapshots, the backups found on it, the
computers that check in), so none of them has to import another to draw it."""
