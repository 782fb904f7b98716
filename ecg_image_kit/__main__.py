"""``python -m ecg_image_kit`` and the ``ecg-image-kit`` command: see :mod:`ecg_image_kit.cli`."""

import sys

from ecg_image_kit.cli import main, worker_start_method


def run() -> int:
    """The command line as a process of its own runs it (workers forked on Linux)."""
    return main(start_method=worker_start_method())


if __name__ == "__main__":
    sys.exit(run())
