"""``python -m ecg_image_kit``: see :mod:`ecg_image_kit.cli`."""

import sys

from ecg_image_kit.cli import main

if __name__ == "__main__":
    sys.exit(main())
