"""The work folder behind /files (safe paths, atomic writes) and the scratch folders in
it where Blender writes renders and exports for one request."""
