"""The scheduled jobs as cron runs them: whole ``manage.py`` processes, as
the service user of a real bin/install, with production settings and real
``sudo -n`` to the installed wrappers.

    sudo .venv/bin/python bench/bench_cron.py [--real 20] [--volumes 1000] [--runs 3]

Each job (update_df_stats, rrd_waittime, fetch_backups, take_snapshots) runs
--runs times at two sizes: first with --real volumes only, all real
(loop-file images, 1 GiB ext4, made and mounted by the wrappers), then with
stand-ins added up to --volumes. A stand-in is what the jobs can see without
a disk of its own: a backup account, the portal's record of its volume, a
1 GiB sparse image in the pool (listed by the inventory, never formatted or
attached) and a 1 MiB tmpfs mounted at its mount point, owned by the account
and holding the same files as the real volumes (a Time Machine bundle and a
folder), so fetch_backups scans every one of them as its owner. The stand-ins
are not mounted volumes to update_df_stats (no loop device behind them): it
lists them and measures the real ones only.

Printed per job and size: the median wall time and CPU time (user + system
of the process and everything it waited for: sudo, the wrappers, the tools
they run), and the cost per added volume between the two sizes, beside the
targets (fetch_backups: 1,000 volumes in under 10 s; a flat cost per
volume). fetch_backups' one privileged call is also timed alone (sudo -n
fetch_backups.py as the service user), so what the wrapper takes and what the
portal takes to store the results can be told apart. Everything is removed at the end. Run as root.
"""

import argparse
import concurrent.futures
import json
import os
import pwd
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from bench_fetch_all_backups import fill  # noqa: E402

from support import deployment  # noqa: E402

JOBS = ("update_df_stats", "rrd_waittime", "fetch_backups", "take_snapshots")
SUDO_FETCH = "  fetch_backups.py"
TARGETS = {"fetch_backups": ("1,000 volumes < 10 s", 1000, 10.0)}
GIB = 1 << 30


def say(message):
    print(message, flush=True)


def as_root(installation, wrapper, *args):
    result = subprocess.run(
        [str(installation.wrappers / wrapper), *args],
        capture_output=True,
        text=True,
        env={"PATH": deployment.PATH},
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{wrapper} {' '.join(args)}: {result.stderr.strip()}")
    return result


def volumes_root(installation):
    """DIRECTORIES_ROOT, as the installed wrappers have it."""
    answer = as_root(installation, "wrapper-settings.py").stdout
    return Path(json.loads(answer)["directories_root"])


def make_real(installation, names):
    """Real volumes through the installed wrappers, two at a time (mkfs is
    most of the work, and the machine may have two cores)."""

    def make(name):
        for wrapper, *args in (
            ("useradd.py",), ("lvcreate.py", "1"), ("mkfs-ext4.py",), ("mkdir.py",), ("mount.py",)
        ):  # fmt: skip
            as_root(installation, wrapper, name, *args)
        entry = pwd.getpwnam(name)
        fill(volumes_root(installation) / name, entry.pw_uid, entry.pw_gid)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(make, names))


def make_stand_ins(installation, names, pool_dir):
    root = volumes_root(installation)
    for name in names:
        as_root(installation, "useradd.py", name)
        entry = pwd.getpwnam(name)
        with open(pool_dir / f"{name}.img", "wb") as image:
            image.truncate(GIB)
        os.chmod(pool_dir / f"{name}.img", 0o600)
        point = root / name
        point.mkdir(mode=0o755)
        options = f"size=1m,mode=0700,uid={entry.pw_uid},gid={entry.pw_gid},nodev,nosuid,noexec"
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True)
        # fill() chowns the tree and sets the volume root's mode itself.
        fill(point, entry.pw_uid, entry.pw_gid)


def record_volumes(installation, names):
    """The portal's records of the volumes (an owner each), as the
    service user through manage.py, like every other write to its database."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from backup.volumes.models import Volume\n"
        f"names = {names!r}\n"
        "User = get_user_model()\n"
        "User.objects.bulk_create([User(username=n) for n in names])\n"
        "owners = User.objects.in_bulk(names, field_name='username')\n"
        "Volume.objects.bulk_create([Volume(owner=owners[n], account=n, size_gib=1,"
        " filesystem='ext4') for n in names])\n"
    )
    made = installation.manage("shell", "-c", code, timeout=600)
    if made.returncode != 0:
        raise RuntimeError(f"recording the volumes: {made.stderr[-2000:]}")


def commands(installation):
    """(label, argv) of each process measured: the jobs, and fetch_backups'
    one privileged call alone (what the job spends in sudo and the wrapper)."""
    jobs = [(job, [str(deployment.PYTHON), "manage.py", job]) for job in JOBS]
    alone = [SUDO_FETCH, ["/usr/bin/sudo", "-n", str(installation.wrappers / "fetch_backups.py")]]
    return [*jobs, alone]


def run_job(installation, argv):
    """(wall s, CPU s, exit status, stderr) of one whole process, started as
    cron starts a job: as the service user, from the portal's directory,
    with the production settings."""
    account = pwd.getpwnam(installation.user)
    errors = os.memfd_create("bench-stderr")
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.chdir(REPO)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(errors, 2)
            os.initgroups(account.pw_name, account.pw_gid)
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            # fork and exec, not subprocess: os.wait4 must reap the child itself.
            os.execve(argv[0], argv, installation.env())  # noqa: S606
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    os.lseek(errors, 0, os.SEEK_SET)
    with os.fdopen(errors, "rb") as file:
        printed = file.read().decode("utf-8", "replace")
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), printed


def measure(installation, runs):
    figures = {}
    for job, argv in commands(installation):
        walls, cpus = [], []
        for _ in range(runs):
            # The RRDs take one update per second: start each run on a new second.
            time.sleep(1 - time.time() % 1 + 0.01)
            wall, cpu, code, errors = run_job(installation, argv)
            if code != 0:
                say(f"  {job} exited {code}: {errors.strip()[-500:]}")
            walls.append(wall)
            cpus.append(cpu)
        figures[job] = (statistics.median(walls), statistics.median(cpus))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=int, default=20, help="real volumes (default: 20)")
    parser.add_argument("--volumes", type=int, default=1000, help="volumes in all (1,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it installs the portal and makes accounts, loop devices, mounts")
    if not 1 <= options.real <= options.volumes:
        sys.exit("--real must be at least 1 and at most --volumes")
    installation = deployment.create(LOOPFILE_POOL_SIZE_GIB=options.volumes + 10)
    try:
        started = time.perf_counter()
        installed = installation.install()
        if installed.returncode != 0:
            raise RuntimeError(f"bin/install failed: {installed.stdout}{installed.stderr}")
        token = installation.prefix.name.rsplit("-", 1)[-1]
        real = [f"cr{token}r{n:03d}" for n in range(options.real)]
        make_real(installation, real)
        record_volumes(installation, real)
        say(f"bin/install and {options.real} real volumes in"
            f" {time.perf_counter() - started:.0f} s")  # fmt: skip
        sizes = [(options.real, 0, measure(installation, options.runs))]
        if options.volumes > options.real:
            started = time.perf_counter()
            stand_ins = [f"cr{token}s{n:04d}" for n in range(options.volumes - options.real)]
            make_stand_ins(installation, stand_ins, installation.prefix / "pool")
            record_volumes(installation, stand_ins)
            say(f"{len(stand_ins)} stand-ins in {time.perf_counter() - started:.0f} s")
            sizes.append((options.real, len(stand_ins), measure(installation, options.runs)))
        report(sizes, options.runs)
    finally:
        deployment.destroy(installation)


def report(sizes, runs):
    say(f"whole manage.py processes as the service user with sudo; median of {runs} runs")
    say(f"{'job':<20}{'real':>6}{'stand-ins':>10}{'wall s':>8}{'CPU s':>8}"
        f"{'wall ms/added volume':>22}{'CPU ms/added volume':>21}  target")  # fmt: skip
    for job in sizes[0][2]:
        first = sizes[0][2][job]
        for real, stand_ins, figures in sizes:
            wall, cpu = figures[job]
            per_wall = per_cpu = ""
            if stand_ins:
                per_wall = f"{(wall - first[0]) / stand_ins * 1000:.2f}"
                per_cpu = f"{(cpu - first[1]) / stand_ins * 1000:.2f}"
            target = ""
            if job in TARGETS:
                text, count, seconds = TARGETS[job]
                if real + stand_ins >= count:
                    target = f"{text}: {'met' if wall < seconds else 'NOT met'}"
                else:
                    target = f"({text}: not measured at this size)"
            say(f"{job:<20}{real:>6}{stand_ins:>10}{wall:>8.2f}{cpu:>8.2f}"
                f"{per_wall:>22}{per_cpu:>21}  {target}")  # fmt: skip
    say("stand-ins: account, record, sparse image, 1 MiB tmpfs with the same files;"
        " update_df_stats measures only mounted loop-file volumes (the real ones);"
        f" {SUDO_FETCH.strip()}: the job's one privileged call alone, through sudo")  # fmt: skip


if __name__ == "__main__":
    main()
