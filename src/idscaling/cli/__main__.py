"""``python -m idscaling.cli``."""

import sys

from idscaling.cli import main

sys.exit(main())
