"""The scene room: the modules that work in Blender's data (listing, objects, render,
screenshot, export and import) and their pure helpers (options, formats, lookups).
The bpy-importing modules here run on the main thread only, as tasks."""
