"""blender-http: run Python inside a live Blender from anything that speaks HTTP."""

__version__ = "0.1.0"
