"""``python -m miogram_async``: the ``miogram`` command (needs the ``cli`` extra)."""

from miogram_async.cli import main

if __name__ == "__main__":
    main()
