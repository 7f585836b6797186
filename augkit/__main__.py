"""``python -m augkit`` runs the :mod:`augkit.cli` command line."""
import sys

from .cli import main

sys.exit(main())
