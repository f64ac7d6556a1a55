"""The tracer: Python kernel functions -> IR (see jit.py, builder.py, regions.py)."""
