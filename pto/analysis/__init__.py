"""Pure analyses over the IR: they return results and never change the IR."""
