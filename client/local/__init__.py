"""The local machinery: finding Blender (discovery.py), installing the add-on into it
(installer.py, addon_bundle.py), starting and stopping servers on this machine (launcher.py,
state.py: the records `start` and `serve` leave), serving from bpy in this process
(embedded.py) and the Blender `blender-http mcp --spawn` starts (mcp_spawn.py).

The standard library and the add-on package only: no HTTP client, no CLI. The CLI and the
gateway's supervisor build on it."""
