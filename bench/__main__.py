"""`python -m bench`: see bench/load.py."""

import sys

from bench.load import main

sys.exit(main())
