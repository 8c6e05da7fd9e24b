"""Extensions of other tools, loaded only when those tools ask: the IPython extension
(notebook.py) behind `%load_ext blender_http`. They build on the core and the client twins."""
