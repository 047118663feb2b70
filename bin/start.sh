#!/bin/sh
# (Re)starts the FastCGI daemon in the background, where there is no
# systemd (with systemd, deploy/systemd/backupmanagement-fcgi.service runs
# it: use one or the other). Run it as the service user
# (runuser -u backupmanagement -- bin/start.sh): a daemon already running is
# stopped first (SIGKILL if still busy after 45 s), and it returns once the
# new one serves, or says why it could not start. `bin/start.sh --stop`
# only stops it. Without systemd, root's @reboot line
# (deploy/crontab.example) runs it at boot after remaking the socket
# directory in /run, which a boot empties, and mounting the volumes: cron
# starts @reboot lines in no set order, so the service user's own crontab
# can't. Settings: BACKUP_CONFIG, by default
# /etc/backupmanagement/backup.toml (its fcgi_pidfile and fcgi_log say
# where the pidfile and the daemon's output go); FCGI_STOP_SECONDS, the
# grace a running daemon gets to finish its requests (45, above the 30 s a
# request may run). Extra arguments go to manage.py runfcgi, e.g.
# --workers N (child processes; two per core plus one by default) or
# --request-timeout S (30; keep it equal to Apache's ProxyPass timeout=),
# the same as the systemd unit's defaults.
#
# Why start-stop-daemon (dpkg, so on every Debian and Ubuntu host): it
# already does what this script needs, well kept and documented
# (start-stop-daemon(8)): --background --make-pidfile detaches the daemon
# and records its pid; --stop --retry waits for it to exit after each
# signal; --notify-await waits for the daemon's sd_notify READY=1 (or
# ERRNO=), the same readiness the systemd unit's Type=notify reads.
# Matching: the pidfile alone could name a recycled pid, so a process is
# ours only if it also runs as us (--user) and is the virtualenv's Python
# (--exec). No --chuid: this script never runs as root (below), so it
# already is the service user and there is nobody to change to.
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
grace=${FCGI_STOP_SECONDS:-45}
case $grace in
    '' | *[!0-9]*)
        echo "bin/start.sh: FCGI_STOP_SECONDS must be a whole number of seconds" >&2
        exit 2
        ;;
esac
# As the systemd unit's UMask: the pidfile, the log and what the daemon
# writes are not for other accounts.
umask 027
python=$(pwd)/.venv/bin/python
# Also loads the settings: a broken backup.toml is reported here, at once.
files=$("$python" manage.py runfcgi --runner-files)
pidfile=$(printf '%s\n' "$files" | sed -n 1p)
log=$(printf '%s\n' "$files" | sed -n 2p)
uid=$(id -u)
# start-stop-daemon on our daemon only (see "Matching" above).
ours() {
    start-stop-daemon --pidfile "$pidfile" --user "$uid" --exec "$python" "$@"
}

# SIGTERM first: the daemon stops taking requests and lets those in progress
# finish. One schedule (--retry TERM/45/KILL/5) would do the same, but could
# not tell whoever restarts it that requests were cut off; so the KILL is a
# second call, made only when the first says the daemon is still there (2).
status=0
ours --stop --quiet --retry "TERM/$grace" || status=$?
case $status in
    0) stopped=stopped ;;
    1) stopped="not running" ;;
    2)
        echo "bin/start.sh: the running daemon was still busy $grace s after SIGTERM:" \
            "killed it (SIGKILL); requests it was serving were cut off" >&2
        ours --stop --quiet --oknodo --signal KILL --retry 5
        stopped=killed
        ;;
    *) exit "$status" ;;
esac
if [ "${1:-}" = "--stop" ]; then
    rm -f "$pidfile"
    echo "$stopped"
    exit 0
fi

if ! ours --start --quiet --background --make-pidfile --output "$log" \
    --notify-await --chdir "$(pwd)" -- manage.py runfcgi "$@"; then
    echo "bin/start.sh: the daemon did not start; the end of $log says why:" >&2
    tail -n 3 "$log" >&2
    exit 1
fi
echo "serving (pid $(cat "$pidfile")); its output goes to $log"
