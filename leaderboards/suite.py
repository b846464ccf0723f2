"""Eval suites as data: `leaderboards/suites/NAME.yaml`, loaded into `Suite`.

A suite fixes the env, the scenarios, the seeds and the limits every agent is run on,
the reference agents worth running beside a model, and (optionally) published figures
from elsewhere, shown as reference rows that were not run here.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SUITES_DIR = Path(__file__).parent / "suites"
ARENA_ENV = "tycoon/VendingArena-v0"  # spelled here so loading a suite imports no env


class PublishedRow(BaseModel):
    """A published result for one model: shown, never run here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    score_mean: float
    score_min: float | None = None
    units_sold: float | None = None
    days_until_sales_stop: float | None = None


class Published(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    rows: list[PublishedRow]


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    env: str
    scenarios: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    max_days: int | None = Field(None, ge=1)
    max_steps: int | None = Field(None, ge=1)
    reference_agents: list[str] = []
    published: Published | None = None
    # operators per market: set for a multi-operator suite (the arena), whose entrants
    # play each other (tycoon.leaderboards.arena) instead of one episode each
    operators: int | None = Field(None, ge=2, le=4)

    @property
    def is_arena(self) -> bool:
        return self.operators is not None

    @field_validator("scenarios", "seeds")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError(f"expected no repeats, got {values}")
        return values

    @model_validator(mode="after")
    def _arena_env(self) -> Suite:
        if self.operators is not None and self.env != ARENA_ENV:
            raise ValueError(f"operators: expected env {ARENA_ENV}, got {self.env}")
        if self.operators is not None and self.max_steps is not None:
            raise ValueError("max_steps: an arena suite limits days only, got a step limit")
        return self


class SuiteError(ValueError):
    """A suite that does not exist or does not parse."""


def suite_names() -> list[str]:
    return sorted(path.stem for path in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str) -> Suite:
    """A suite by name (`vb2`) or from a YAML file path."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = SUITES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SuiteError(
                f"unknown suite {name_or_path!r}; expected one of {', '.join(suite_names())} "
                "or a path to a .yaml file"
            )
    try:
        data = yaml.safe_load(path.read_text())
        return Suite.model_validate(data)
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise SuiteError(f"{path}: {problems}") from exc
