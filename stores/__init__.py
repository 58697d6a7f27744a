"""Stores: the lesson library (Chroma), teachers' private silos, and offline embeddings."""
