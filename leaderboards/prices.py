"""Token prices per model (USD per million tokens), overridable with a user file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")


class TokenPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)  # USD per million prompt tokens
    output: float = Field(ge=0)  # USD per million completion tokens

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, TokenPrice] = {}


def load_prices(override: str | Path | None = None) -> dict[str, TokenPrice]:
    """The shipped table, with the entries of `override` (a YAML file) on top."""
    prices = dict(_read(DEFAULT_PRICES).models)
    if override is not None:
        prices.update(_read(Path(override)).models)
    return prices


def _read(path: Path) -> PriceTable:
    try:
        return PriceTable.model_validate(yaml.safe_load(path.read_text()) or {})
    except OSError as exc:
        raise ValueError(f"cannot read the price table {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(
            f"{path}: expected `models: {{NAME: {{input: USD, output: USD}}}}` "
            f"(per million tokens), got: {_first_problem(exc)}"
        ) from exc


def _first_problem(exc: Exception) -> str:
    """One line for a YAML or validation error (pydantic's own text spans lines)."""
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where + ': ' if where else ''}{error['msg']} ({len(exc.errors())} problem(s))"
    return " ".join(str(exc).split())
