"""``python -m hub`` runs the ``marac-hub`` CLI."""

import sys

from hub.cli import main

sys.exit(main())
