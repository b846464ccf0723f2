"""Parallel rollouts on Ray: env-runner actors fed from one queue in the driver.

Ray is imported only when a rollout runs (`pip install 'tycoon[ray]'`). The modules:
`ray_runtime` (starting or joining Ray, which databases a cluster can share), `jobs` (what
the driver hands out), `worker` (one actor's work, Ray-free), `actor` (the Ray actor),
`engine` (the driver: queue, streaming, dead actors), `endpoints` (sticky routing and
per-endpoint caps), `cli_rollout` and `flags` (`tycoon rollout --ray`).
"""
