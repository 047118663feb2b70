"""The exact lines each backup tool needs to check in, for one address.
Kept here, not in the template: they are code, the same in every language
(tests/test_checkins_tools.py runs the borgmatic and curl ones as shown)."""

from string import Template

BORGMATIC = """\
healthchecks:
    ping_url: $url"""

BORGMATIC_1_7 = """\
hooks:
    healthchecks:
        ping_url: $url"""

RESTIC_LINUX = """\
#!/bin/sh
# restic reads its repository and password from RESTIC_REPOSITORY and
# RESTIC_PASSWORD_FILE, as usual.
url='$url'
curl -fsS -m 10 --retry 5 -o /dev/null "$$url/start"
log=$$(restic backup "$$HOME" 2>&1)
status=$$?
printf '%s\\n' "$$log" | tail -c $limit \\
    | curl -fsS -m 10 --retry 5 -o /dev/null --data-binary @- "$$url/$$status"
exit $$status"""

RESTIC_WINDOWS = """\
$$url = '$url'
Invoke-RestMethod -Uri "$$url/start" | Out-Null
$$log = & restic.exe backup $$env:USERPROFILE 2>&1 | Out-String
$$status = $$LASTEXITCODE
Invoke-RestMethod -Method Post -Uri "$$url/$$status" -Body $$log | Out-Null
exit $$status"""

RESTIC_TASK = (
    'schtasks /Create /TN "restic backup" /SC DAILY /ST 12:00 /TR "powershell.exe -NoProfile '
    '-ExecutionPolicy Bypass -File C:\\Backup\\restic-backup.ps1"'
)

POST_JOB = "curl.exe -fsS -m 10 --retry 5 -o NUL $url"

ANY_TOOL = "curl -fsS -m 10 --retry 5 -o /dev/null $url"

DUPLICATI = """\
--send-http-url=$url
--send-http-level=Success"""

TIME_MACHINE = """\
#!/bin/sh
url='$url'
state="$$HOME/Library/Application Support/backup-checkin"
mkdir -p "$$state"
if tmutil status | grep -q 'Running = 1;'; then
    if [ ! -e "$$state/running" ]; then
        : > "$$state/running"
        curl -fsS -m 10 --retry 3 -o /dev/null "$$url/start"
    fi
    exit 0
fi
latest=$$(tmutil latestbackup 2>/dev/null)
if [ ! -e "$$state/latest" ]; then
    # The first run only notes the newest backup: it may be an old one.
    printf '%s\\n' "$$latest" > "$$state/latest"
    rm -f "$$state/running"
elif [ -n "$$latest" ] && [ "$$latest" != "$$(cat "$$state/latest")" ]; then
    printf '%s\\n' "$$latest" > "$$state/latest"
    rm -f "$$state/running"
    printf 'Time Machine: latest backup %s\\n' "$$latest" \\
        | curl -fsS -m 10 --retry 3 -o /dev/null --data-binary @- "$$url"
elif [ -e "$$state/running" ]; then
    rm -f "$$state/running"
    printf 'Time Machine finished without a new backup; latest: %s\\n' "$$latest" \\
        | curl -fsS -m 10 --retry 3 -o /dev/null --data-binary @- "$$url/fail"
fi"""

LAUNCH_AGENT = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" \
"http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key><string>backup-checkin</string>
    <key>ProgramArguments</key>
    <array><string>/bin/sh</string><string>/Users/YOU/Library/Scripts/backup-checkin.sh</string></array>
    <key>WatchPaths</key>
    <array><string>/Library/Preferences/com.apple.TimeMachine.plist</string></array>
    <key>StartInterval</key><integer>600</integer>
    <key>StandardErrorPath</key><string>/tmp/backup-checkin.log</string>
</dict>
</plist>"""

SNIPPETS = {
    "borgmatic": BORGMATIC,
    "borgmatic_1_7": BORGMATIC_1_7,
    "restic_linux": RESTIC_LINUX,
    "restic_windows": RESTIC_WINDOWS,
    "restic_task": RESTIC_TASK,
    "post_job": POST_JOB,
    "any_tool": ANY_TOOL,
    "duplicati": DUPLICATI,
    "time_machine": TIME_MACHINE,
    "launch_agent": LAUNCH_AGENT,
}


def snippets(url: str, log_limit: int) -> dict[str, str]:
    """Each tool's lines for ``url`` (a check-in address: URL-safe
    characters only, so it needs no quoting in any of them)."""
    values = {"url": url, "limit": str(log_limit)}
    return {name: Template(text).substitute(values) for name, text in SNIPPETS.items()}
