#!/usr/bin/python3 -IB
"""vgdisplay.py: the pool volumes are taken from, and its free space."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wrapperlib import cli, storage, validate


def main(args):
    validate.arguments(args)
    return storage.backend().pool().as_dict()


if __name__ == "__main__":
    cli.run(main)
