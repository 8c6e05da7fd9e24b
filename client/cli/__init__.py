"""The `blender-http` command line (the entry point `blender_http.cli:main`, and
`python -m blender_http`). Nothing else in the package imports it.

    main.py          the group and where each command lives
    commands/        one module per command, imported when it runs
    exit_codes.py    every exit code, once
    terminal.py      the exceptions that end a command with one, JSON output, the spinner
    support.py       what the client commands share: --url/--token, errors as exit codes
    wait.py          following a job on the terminal; Ctrl-C cancels it
    server_options.py, batch_files.py: the rest, each for its commands
"""

from .main import main

__all__ = ["main"]
