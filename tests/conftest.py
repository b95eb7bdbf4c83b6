"""Shared pytest setup.

Hypothesis profiles: ``ci`` (the default: few examples, derandomized so runs repeat) and
``thorough`` (thousands of examples), chosen with hypothesis' own pytest flag::

    python -m pytest --hypothesis-profile=thorough
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")
