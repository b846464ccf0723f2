"""Experiments run on the tycoon envs (`tycoon experiment NAME`).

- `cem`: the cross-entropy method, a black-box optimiser over [0, 1]^d.
- `policy`: the baseline operator plus a switch and parameters for each probe's
  affordance (when, how much): the policy family the experiments optimise.
- `incentives`: does optimising for the env's reward select for misbehaviour? Per probe,
  in its pressure and control cells, with and without behaviour penalties.
"""
