"""``python -m c2hunt_offline``: see cli.py."""
import sys

from .cli import main

sys.exit(main())
