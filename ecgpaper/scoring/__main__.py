"""``python -m ecgpaper.scoring -d REF -o OUT [...]``: the Challenge 2024 scorer."""

import sys

from ecgpaper.scoring.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
