#!/bin/sh
# (Re)starts the FastCGI daemon in the background. Run it as the service
# user (runuser -u backupmanagement -- bin/start.sh); a daemon already
# running is stopped first (SIGKILL if still busy after 45 s). Without
# systemd, root's @reboot line (deploy/crontab.example) runs it at boot after
# remaking the socket directory in /run, which a boot empties, and mounting
# the volumes: cron starts @reboot lines in no set order, so the service
# user's own crontab can't. Settings:
# BACKUP_CONFIG, by default /etc/backupmanagement/backup.toml. Extra
# arguments go to manage.py runfcgi, e.g. --workers N (child processes; two
# per core plus one by default) or --request-timeout S (30; keep it equal to
# Apache's ProxyPass timeout=), the same as the systemd unit's defaults.
set -eu
# Never as root, checked before Python starts: the production settings open
# the portal's log, in a directory the service user owns, where a link could
# lead root's append to any file.
if [ "$(id -u)" -eq 0 ]; then
    echo "bin/start.sh: refusing to run as root: run it as the service user" \
        "(sudo -u backupmanagement bin/start.sh)" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-backup.settings.production}
export DJANGO_SETTINGS_MODULE
exec .venv/bin/python manage.py runfcgi --replace --daemonize "$@"
