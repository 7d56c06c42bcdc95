"""``python -m intakeforms`` runs the command line."""

import sys

from intakeforms.cli import main

sys.exit(main())
