"""Utilities: data loading, checkpointing."""
