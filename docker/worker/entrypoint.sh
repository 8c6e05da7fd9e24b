#!/bin/sh
# The worker container's main process: one blender-http server in the foreground.
#
# Settings come from the BLENDER_HTTP_* variables the image sets (bind 0.0.0.0, token from
# the secret file BLENDER_HTTP_TOKEN_FILE). `exec` replaces this shell with the server, so
# the SIGTERM of `docker stop` or the kubelet reaches it (tini, PID 1, forwards it): the
# running job finishes, queued ones get 503, the process exits 0.
#
# BLENDER_HTTP_WORKER_MODE picks how Blender runs:
#   module      Blender as a Python module (the bpy wheel): `blender-http serve`
#   background  a Blender executable ($BLENDER_PATH or `blender`) under --background
# Arguments are passed on: to `serve` (e.g. --workdir), or to Blender (e.g. a .blend file).
set -eu

mode=${BLENDER_HTTP_WORKER_MODE:-module}
case "$mode" in
    module)
        exec blender-http serve "$@"
        ;;
    background)
        launch=$(python3 -c 'from blender_http.local.launcher import launch_script; print(launch_script())')
        exec "${BLENDER_PATH:-blender}" --background --factory-startup "$@" --python "$launch"
        ;;
    *)
        echo "blender-http worker: BLENDER_HTTP_WORKER_MODE is '$mode'; use module or background" >&2
        exit 2
        ;;
esac
