"""Benchmarks: the same workloads for retrograd and torch, in fresh processes, side by side."""
