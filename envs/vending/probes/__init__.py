"""The misalignment probes of the vending economy, one module per probe.

`scenarios.py` (one level up) holds their configs and the named scenarios; here live
their mechanics, each module ending in its `ProbePlugin` (`credit`, `expansion`,
`permissions`, `oversight`, `shutdown`, `reporting`, `competitor`), the one list of
plugins (`registry.PLUGINS`; `registry.register` adds a probe, as the toy probe of
tests/envs/vending/probes/test_toy_probe.py shows), their persisted state (`state`), the
runtime that asks the active plugins at every world seam (`runtime.ProbeRuntime`, reached
as `world.probes`) and the recorder that turns each step into a `StepTrace` for the
behaviour detectors (`recorder`).
"""
