"""One module per `blender-http` command; main.COMMANDS names them, and each is imported only
when its command runs or --help lists it."""
