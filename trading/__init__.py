"""The decision packages wired together, as every shell runs them (trading/system.py)."""
