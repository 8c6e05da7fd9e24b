"""The blocking client: Blender (client.py), Job and Session (handles.py) are generated from
_async/ by scripts/unasync.py (`--check` fails when they differ); batch_runner.py, the thread
runner behind Blender.map, is the one module written by hand."""
