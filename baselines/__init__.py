"""Comparison methods (baselines) of the four papers. Each module registers itself in ganrepro.registry."""
