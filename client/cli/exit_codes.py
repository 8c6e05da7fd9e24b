"""The exit codes of `blender-http`, each defined here once. A script tells from them what
happened; every command uses these names, never the numbers."""

EXIT_OK = 0
# The code, the job or the request failed (the output says why).
EXIT_FAILED = 1
# A wrong command line: click's own code for a UsageError or a BadParameter.
EXIT_USAGE = 2
# Blender cannot be reached or started: nothing ran, so trying again is safe.
EXIT_UNREACHABLE = 3
# Ctrl-C: the shell's code for SIGINT (128 + 2).
EXIT_INTERRUPTED = 130
