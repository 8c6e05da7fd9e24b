"""Jobs: the work that runs on Blender's main thread (user code or the server's own
tasks), its queue and store, the executor that runs it with captured output and
interrupts, timeouts, and the sessions that keep user variables. Nothing here knows
HTTP; api/outcome.py turns a finished job into an answer."""
