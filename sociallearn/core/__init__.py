"""Foundations: records, the language-model interface, model files, prompts, shared literals."""
