"""``python -m services.ops.devservers up|down|status|clean``: see ``cli.py``."""

import sys

from services.ops.devservers.cli import main

sys.exit(main())
