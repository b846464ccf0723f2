"""What an LLM agent is configured with, and the command-line flags that set it.

The settings name the environment variable that holds the API key, never the key: they
are stored with every run, so the key must not be in them.
"""

from __future__ import annotations

import argparse
import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NO_KEY = "EMPTY"  # what vLLM and most local servers accept when no key is configured
TRANSPORTS = ("lean", "openai")
Transport = Literal["lean", "openai"]


class LlmSettings(BaseModel):
    # NaN passes no bound check of its own (pydantic then names a bound it did not break)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = Field(min_length=1)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = Field(120.0, gt=0, description="seconds per request")
    max_retries: int = Field(6, ge=0, description="retries after the first attempt")
    backoff_base: float = Field(1.0, ge=0, description="first backoff, seconds (then doubles)")
    backoff_max: float = Field(60.0, ge=0)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(2048, ge=1, description="completion tokens per call")
    context_tokens: int = Field(32_000, ge=512, description="prompt token budget")
    trim_to: float = Field(
        0.6, gt=0, lt=1, description="after a trim, the prompt's share of the budget"
    )
    return_token_ids: bool = False
    logprobs: bool = False
    max_consecutive_no_call: int = Field(20, ge=1)
    transport: Transport = Field(
        "lean", description="lean: aiohttp; openai: the official client (same requests)"
    )

    def api_key(self) -> str:
        """The key from the named variable; local servers (a base URL) may go without."""
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            return key
        if self.base_url:
            return NO_KEY
        raise KeyError(
            f"the OpenAI API needs a key: set ${self.api_key_env} or pass --api-key-env NAME "
            "(or --base-url for a local server)"
        )

    def request_params(self) -> dict[str, object]:
        """The sampling parameters sent with every call (recorded with the calls)."""
        params: dict[str, object] = {"model": self.model}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


def add_llm_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for --agent openai (the model, URL and key variable are episode flags)."""
    from tycoon.commands.common import number_flag, whole_number_flag

    group = parser.add_argument_group("LLM agent (--agent openai)")
    group.add_argument(
        "--timeout", type=number_flag, default=120.0, help="seconds per request (default 120)"
    )
    group.add_argument(
        "--max-retries",
        type=whole_number_flag,
        default=6,
        help="retries on 429, 5xx, timeouts and connection errors (default 6)",
    )
    group.add_argument(
        "--backoff",
        type=number_flag,
        default=1.0,
        help="first retry delay in seconds, doubling with jitter (default 1)",
    )
    group.add_argument("--temperature", type=number_flag, default=None, help="sampling temperature")
    group.add_argument(
        "--max-tokens",
        type=whole_number_flag,
        default=None,
        help="completion tokens per call (default 2048)",
    )
    group.add_argument(
        "--context-tokens",
        type=whole_number_flag,
        default=None,
        help="prompt token budget; over it the oldest turns are dropped (default 32000)",
    )
    group.add_argument(
        "--return-token-ids",
        action="store_true",
        help="ask the server for token ids (vLLM: return_token_ids)",
    )
    group.add_argument("--logprobs", action="store_true", help="ask for completion logprobs")
    group.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=None,
        help="how requests travel: lean (aiohttp, ~5x less client CPU per call) or openai "
        "(the official client); same requests, parsing and retries (default lean)",
    )


def llm_settings_from_args(args: argparse.Namespace) -> LlmSettings:
    """Settings from parsed flags (those a command lacks take their defaults)."""
    backoff = getattr(args, "backoff", 1.0)
    return LlmSettings(
        model=args.model,
        base_url=args.base_url,
        api_key_env=_given(args, "api_key_env", "OPENAI_API_KEY"),
        timeout=getattr(args, "timeout", 120.0),
        max_retries=getattr(args, "max_retries", 6),
        backoff_base=backoff,
        backoff_max=max(60.0, backoff),
        temperature=getattr(args, "temperature", None),
        max_tokens=_given(args, "max_tokens", 2048),
        context_tokens=_given(args, "context_tokens", 32_000),
        return_token_ids=getattr(args, "return_token_ids", False),
        logprobs=getattr(args, "logprobs", False),
        transport=_given(args, "transport", "lean"),
    )


def _given(args: argparse.Namespace, name: str, default: object) -> object:
    """A flag's value, or its default when the command lacks it or it was not given."""
    value = getattr(args, name, None)
    return default if value is None else value


def add_supplier_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for suppliers whose replies a model writes (the decisions stay rule-based)."""
    from tycoon.commands.common import server_url

    group = parser.add_argument_group("LLM-written supplier replies (optional)")
    group.add_argument(
        "--supplier-model",
        default=None,
        metavar="M",
        help="have model M word the suppliers' emails (prices and decisions stay the rules'; "
        "any failure falls back to the rule-based text)",
    )
    group.add_argument(
        "--supplier-base-url",
        type=server_url,
        default=None,
        help="server for --supplier-model (default --base-url)",
    )
    group.add_argument(
        "--supplier-api-key-env",
        default=None,
        help="variable holding its API key (default --api-key-env)",
    )


def supplier_settings_from_args(args: argparse.Namespace) -> LlmSettings | None:
    """Settings of the supplier writer, or None without --supplier-model."""
    model = getattr(args, "supplier_model", None)
    if not model:
        return None
    return LlmSettings(
        model=model,
        base_url=getattr(args, "supplier_base_url", None) or args.base_url,
        api_key_env=getattr(args, "supplier_api_key_env", None)
        or _given(args, "api_key_env", "OPENAI_API_KEY"),
        timeout=getattr(args, "timeout", 120.0),
        max_retries=getattr(args, "max_retries", 6),
        backoff_base=getattr(args, "backoff", 1.0),
        backoff_max=max(60.0, getattr(args, "backoff", 1.0)),
        temperature=0.0,
        max_tokens=1024,
        transport=_given(args, "transport", "lean"),
    )
