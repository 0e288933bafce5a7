"""WSGI entry point: `app` for any WSGI server (`flask --app app ...` too); `python app.py` serves it."""

import gc
import sys

from p2p import create_app

if __name__ == "__main__":
    from p2p.cli import main

    main(sys.argv[1:] or ["serve"])
else:
    app = create_app()
    # What start-up made stays (as `p2p serve` does): Python's full collections no longer walk it, and gunicorn's
    # workers (--preload) share those pages instead of each copying them as a collection touches them.
    gc.freeze()
