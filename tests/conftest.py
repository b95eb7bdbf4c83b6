"""Shared pytest setup.

Hypothesis profiles: ``ci`` (the default: few examples, derandomized so runs repeat) and
``thorough`` (thousands of examples), chosen with hypothesis' own pytest flag::

    python -m pytest --hypothesis-profile=thorough
"""

import pytest
from hypothesis import HealthCheck, settings

import tinygrad_cnn as tc

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


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from tc.manual_seed(0): the library's generator is seeded from the
    OS otherwise, and a test's numbers must not depend on the tests that ran before it."""
    tc.manual_seed(0)
