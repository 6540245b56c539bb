"""The hand-written analysis placed at the top of RESULTS-methods.md (edited after reading a full run)."""

ANALYSIS = """
(analysis pending: written after the full run)
"""
