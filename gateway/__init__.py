"""FastAPI gateway in front of one or many blender-http workers."""
