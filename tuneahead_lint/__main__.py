"""``python -m tuneahead_lint`` = the ``tuneahead-lint`` command."""

from tuneahead_lint.cli import entry

if __name__ == "__main__":
    entry()
