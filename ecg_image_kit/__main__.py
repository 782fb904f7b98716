"""``python -m ecg_image_kit``: see :mod:`ecg_image_kit.cli`."""

import sys

from ecg_image_kit.cli import main, worker_start_method

if __name__ == "__main__":
    sys.exit(main(start_method=worker_start_method()))
