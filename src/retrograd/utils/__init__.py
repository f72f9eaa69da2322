"""Utilities: data loading, checkpointing."""

from . import data
