#!/bin/sh
# The gateway container's main process: `blender-http gateway` in the foreground.
#
# Settings come from the variables the image sets (bind 0.0.0.0, workers at
# http://worker:7777, API keys and the worker token from secret files); arguments are
# passed on (e.g. --backend URL). `exec` replaces this shell with the gateway, so the
# SIGTERM of `docker stop` or the kubelet reaches it (tini, PID 1, forwards it).
set -eu

exec blender-http gateway "$@"
