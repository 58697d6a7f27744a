"""Graph nodes, one module per step. Each is a small function of (state, runtime context)."""
