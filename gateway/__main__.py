"""`python -m blender_http_gateway`: the same as `blender-http gateway`."""

from .cli import main

main()
