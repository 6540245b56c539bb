"""Hypothesis profiles.

``default`` is derandomized: the same examples on every run, so a red CI run is always a
reproducible one, never a draw of the dice. ``explore`` draws fresh random examples (500 where a test
does not set its own count); run it before a change lands to look for new failures::

    python -m pytest --hypothesis-profile=explore tests/test_agreement_kernel.py
"""

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile("default")
