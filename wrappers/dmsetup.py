#!/usr/bin/python3 -IB
"""dmsetup.py: the block device behind each attached volume (loop device or
device-mapper LV), for the disk activity statistics."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, storage, validate


def main(args):
    validate.arguments(args)
    devices = []
    for volume in storage.backend().list_all():
        if volume.device is None:
            continue
        number = os.stat(volume.device).st_rdev
        devices.append(
            {
                "user": volume.user,
                "device": volume.device,
                "name": os.path.basename(os.path.realpath(volume.device)),
                "major": os.major(number),
                "minor": os.minor(number),
            }
        )
    return {"devices": devices}


if __name__ == "__main__":
    cli.run(main)
