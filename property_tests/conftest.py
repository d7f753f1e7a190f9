"""Hypothesis profiles for the property tests.

Choose one with ``HYPOTHESIS_PROFILE``: ``dev`` (default, few examples), ``ci`` (what CI runs) or
``nightly`` (thousands of examples). Deadlines are off everywhere: the first call of a torch
operator is slow, so size is bounded by ``max_examples`` and small shapes instead.
"""

import os

import torch
from hypothesis import HealthCheck, settings

# Test shapes are tiny: intra-op threads only add synchronisation, which a busy machine punishes.
torch.set_num_threads(1)

settings.register_profile(
    "dev",
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    print_blob=True,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
