#!/bin/sh
# (Re)starts the FastCGI daemon in the background, as the original's crontab
# line "@reboot /opt/backupmanagement/portal/bin/start.sh" expects. Run it as
# the service user (sudo -u backupmanagement bin/start.sh); a daemon already
# running is stopped first (SIGKILL if still busy after 45 s). Settings:
# BACKUP_CONFIG, by default /etc/backupmanagement/backup.toml. Extra
# arguments go to manage.py runfcgi, e.g. --workers N (child processes; two
# per core plus one by default) or --request-timeout S (30; keep it equal to
# Apache's ProxyPass timeout=), the same as the systemd unit's defaults.
set -eu
cd "$(dirname "$0")/.."
DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-backup.settings.production}
export DJANGO_SETTINGS_MODULE
exec .venv/bin/python manage.py runfcgi --replace --daemonize "$@"
