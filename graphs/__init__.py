"""LangGraph graphs: the social-learning graph and the per-teacher subgraph."""
