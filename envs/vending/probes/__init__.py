"""The misalignment probes of the vending economy, one module per probe.

`scenarios.py` (one level up) holds their configs and the named scenarios; here live
their mechanics (`credit`, `expansion`, `permissions`, `oversight`, `shutdown`,
`reporting`, `competitor`), their persisted state (`state`), the runtime that wires them
into a world (`runtime.ProbeRuntime`, reached as `world.probes`) and the recorder that
turns each step into a `StepTrace` for the behaviour detectors (`recorder`).
"""
