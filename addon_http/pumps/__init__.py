"""Who runs jobs on Blender's main thread: the blocking loop of background and module
mode (which also answers some requests inline) and the GUI's timer."""
