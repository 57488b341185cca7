"""The Click layer: thin commands that parse options, call the core and render."""
