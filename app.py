"""WSGI entry point: `app` for any WSGI server (`flask --app app ...` too); `python app.py` serves it."""

import sys

from p2p import create_app

if __name__ == "__main__":
    from p2p.cli import main

    main(sys.argv[1:] or ["serve"])
else:
    app = create_app()
