#!/bin/sh
# (Re)starts the FastCGI daemon in the background, as the original's crontab
# line "@reboot /opt/backupmanagement/portal/bin/start.sh" expects. Run it as
# the service user (sudo -u backupmanagement bin/start.sh); a daemon already
# running is stopped first. Settings: BACKUP_CONFIG, by default
# /etc/backupmanagement/backup.toml. Extra arguments go to manage.py runfcgi.
set -eu
cd "$(dirname "$0")/.."
DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-backup.settings.production}
export DJANGO_SETTINGS_MODULE
exec .venv/bin/python manage.py runfcgi --replace --daemonize "$@"
