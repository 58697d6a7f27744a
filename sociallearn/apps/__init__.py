"""Applications on top of the graphs: the command line, the `teach()` entry point, the demo."""
