"""How update_df_stats scales: wall time, privileged calls and processes
started for 1, 100 and 1,000 volumes.

Up to 100 the volumes are real: loop-file volumes made and mounted by the
wrappers of a private installation, 1 GiB ext4 each. For 1,000, 900 more
synthetic records join the one real inventory call, each named for its own
RRD and pointing at one of the real mount points, so every volume still
costs a statvfs and an RRD update.

Each run happens in a process that is PID 1 of a new PID namespace, so the
kernel itself counts every process (and thread) the run starts: the next
PID handed out afterwards tells how many were. Everything (accounts,
mounts, loop devices, RRDs) is removed at the end. Run as root:

    .venv/bin/python bench/bench_update_df_stats.py
"""

import concurrent.futures
import ctypes
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()
# The privileged client logs each wrapper call: not part of the figures.
logging.getLogger("backup").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from backup.privileged import client, commands  # noqa: E402
from backup.stats import rrd  # noqa: E402
from support import wrapper_install  # noqa: E402

COUNTS = (1, 100, 1000)
REAL_VOLUMES = 100
STEADY_RUNS = 5
CLONE_NEWPID = 0x20000000
GIB = 1 << 30


def say(message):
    print(message, flush=True)


def make_pool(install, gib):
    """A sparse ext4 pool of ``gib`` for the images: the loop-file backend
    sets aside each image's full size, more than /var/tmp may have free."""
    image = install.base / "pool.img"
    with open(image, "wb") as file:
        file.truncate(gib * GIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    mount = install.base / "poolfs"
    mount.mkdir(mode=0o700)
    subprocess.run(["mount", "-o", "loop,nodev,nosuid", str(image), str(mount)], check=True)
    (mount / "images").mkdir(mode=0o700)
    return mount / "images"


def make_volumes(install, count):
    """count real, mounted 1 GiB ext4 volumes, through the wrappers."""
    token = install.base.name.rsplit("-", 1)[-1]
    names = [f"bench{token}{number:03d}" for number in range(count)]

    def make(name):
        for wrapper, *args in (
            ("useradd.py",), ("lvcreate.py", "1"), ("mkfs-ext4.py",), ("mkdir.py",)
        ):  # fmt: skip
            result = install.run(wrapper, name, *args)
            if result.returncode == 1:
                # A failed action (not a refusal) left nothing done: one more
                # try, reported, rather than losing the whole benchmark.
                say(f"{wrapper} {name} failed ({result.stderr.strip()}); trying again")
                result = install.run(wrapper, name, *args)
            if result.returncode != 0:
                raise RuntimeError(f"{wrapper} {name}: {result.stderr.strip()}")

    # Two at a time: the machine has two cores, and mkfs is most of the work.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(make, names))
    result = install.run("mount.py")
    if result.returncode != 0 or json.loads(result.stdout)["failed"]:
        raise RuntimeError(f"mount.py: {result.stdout}{result.stderr}")
    return names


def inventory_of(count, real_inventory):
    """commands.inventory for ``count`` volumes: the one real call, cut to
    size or topped up with synthetic records on the real mount points."""

    def inventory():
        volumes = real_inventory()[:count]
        real = list(volumes)
        for number in range(len(real), count):
            template = real[number % len(real)]
            volumes.append({**template, "user": f"synthetic{number:04d}"})
        return volumes

    return inventory


def in_new_pid_namespace(measure):
    """Runs measure() as PID 1 of a new PID namespace; returns its result
    and the number of tasks (processes and threads) it started."""
    libc = ctypes.CDLL(None, use_errno=True)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        os.close(reader)
        status = 1
        try:
            if libc.unshare(CLONE_NEWPID) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID)")
            init = os.fork()
            if init == 0:
                # PID 1 of the namespace: every task it starts takes the next PID.
                result = measure()
                probe = os.fork()
                if probe == 0:
                    os._exit(0)
                os.waitpid(probe, 0)
                result["tasks"] = probe - 2
                os.write(writer, json.dumps(result).encode())
                os._exit(0)
            _, code = os.waitpid(init, 0)
            status = os.waitstatus_to_exitcode(code)
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        data = pipe.read()
    _, code = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(code) != 0 or not data:
        raise RuntimeError("the measured run failed")
    return json.loads(data)


def run_once():
    # The RRDs take one update per second: start each run on a new second.
    time.sleep(1 - time.time() % 1 + 0.01)
    calls = client.Counter.calls
    start = time.perf_counter()
    call_command("update_df_stats", verbosity=0)
    return {"seconds": time.perf_counter() - start, "calls": client.Counter.calls - calls}


def measure(count, real_inventory):
    commands.inventory = inventory_of(count, real_inventory)
    first = in_new_pid_namespace(run_once)
    steady = [in_new_pid_namespace(run_once) for _ in range(STEADY_RUNS)]
    files = list((rrd.directory() / "volumes").glob("*.rrd"))
    return first, steady, len(files)


def main():
    if os.geteuid() != 0:
        sys.exit("bench_update_df_stats: run as root (it makes accounts, loop devices, mounts)")
    install = wrapper_install.create(uid_min=52000, uid_max=53999)
    try:
        images = make_pool(install, 2 * REAL_VOLUMES)
        install.write_local_settings(LOOPFILE_POOL=str(images), LOOPFILE_POOL_SIZE_GIB=None)
        settings.WRAPPERS_PATH = install.path
        settings.DIRECTORIES_ROOT = install.settings["DIRECTORIES_ROOT"]
        settings.RRD_DIRECTORY = install.base / "rrd"
        # The near-quota and pool alerts that follow each collection read
        # the portal's records: a throwaway database of its own.
        settings.DATABASES["default"]["NAME"] = str(install.base / "bench.sqlite3")
        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        make_volumes(install, REAL_VOLUMES)
        real_inventory = commands.inventory
        mounted = sum(1 for volume in real_inventory() if volume["mounted"])
        say(f"made {REAL_VOLUMES} loop-file volumes (1 GiB ext4), {mounted} mounted,"
            f" in {time.perf_counter() - start:.1f} s")  # fmt: skip
        say(f"update_df_stats; steady state: median of {STEADY_RUNS} runs, each in a new"
            " PID namespace counting every task it starts")  # fmt: skip
        say(f"{'volumes':>8} {'real':>5} {'RRDs':>5} {'first run s':>12} {'steady s':>9}"
            f" {'max s':>6} {'privileged calls':>17} {'processes started':>18}")  # fmt: skip
        for count in COUNTS:
            first, steady, files = measure(count, real_inventory)
            seconds = [run["seconds"] for run in steady]
            calls = sorted({run["calls"] for run in (first, *steady)})
            tasks = sorted({run["tasks"] for run in (first, *steady)})
            say(
                f"{count:>8} {min(count, REAL_VOLUMES):>5} {files:>5} {first['seconds']:>12.3f}"
                f" {statistics.median(seconds):>9.3f} {max(seconds):>6.3f}"
                f" {'/'.join(map(str, calls)):>17} {'/'.join(map(str, tasks)):>18}"
            )
    finally:
        teardown(install)
        left = [*mounts_under(install.base), *loops_under(install.base)]
        if left or install.base.exists():
            say(f"cleanup left: {left} {install.base if install.base.exists() else ''}")


def mounts_under(base):
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return sorted((p for p in points if p.startswith(f"{base}/")), key=len, reverse=True)


def loops_under(base):
    devices = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            if backing.read_text().startswith(f"{base}/"):
                devices.append(f"/dev/{backing.parent.parent.name}")
        except OSError:
            continue
    return devices


def teardown(install):
    """Volumes first, then the pool under them, then what the installation
    made (accounts, group, files): a lazy unmount of the pool would hide
    the volumes' loop devices from the cleanup."""
    pool = install.base / "poolfs"
    for point in mounts_under(install.base):
        if Path(point) != pool:
            subprocess.run(["umount", point], check=False)
    for device in loops_under(pool):
        subprocess.run(["losetup", "-d", device], check=False)
    if pool.is_mount():
        subprocess.run(["umount", str(pool)], check=False)
    wrapper_install.destroy(install)


if __name__ == "__main__":
    main()
