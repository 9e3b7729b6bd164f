"""``python -m services.ops.devservers up|down|status|clean`` (the Makefile's ``clean-data``)."""

import sys

from services.ops.devservers.servers import main

sys.exit(main())
