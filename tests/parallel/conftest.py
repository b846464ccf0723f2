"""One Ray session for the parallel tests (2 CPUs, no dashboard), started on first use.

A `ray.cluster_utils.Cluster` cannot share a driver with it: the cluster test runs its
driver in a subprocess (tests/parallel/cluster_driver.py).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_session():
    import ray
    import ray_helpers
    from ray import cloudpickle

    # the test agents and factories are not installed: ship them to actors by value
    cloudpickle.register_pickle_by_value(ray_helpers)
    # "local": this session's own Ray, never one another process runs on the machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
