"""The teaching library in plain Python (no LangGraph): settings, teachers' workspaces,
methods, the sharing check, aggregators, the student, and a run's resources."""
