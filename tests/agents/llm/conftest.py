"""Every test of the LLM client and agent runs on both transports (the issue's bar for
the lean path: the loopback tests pass on both, with identical behaviour)."""

from __future__ import annotations

import pytest

from tycoon.agents.llm import client as client_module
from tycoon.agents.llm.settings import TRANSPORTS, LlmSettings


@pytest.fixture(params=TRANSPORTS)
def each_transport(request, monkeypatch) -> str:
    """The test's clients use `request.param` whatever their settings say, including the
    clients that commands make from flags (the settings default is the lean one)."""
    make = client_module.make_transport

    def make_with(settings: LlmSettings, api_key: str):
        transport = make(settings.model_copy(update={"transport": request.param}), api_key)
        made.append(type(transport).__name__)
        return transport

    made: list[str] = []
    monkeypatch.setattr(client_module, "make_transport", make_with)
    yield request.param
    expected = {"lean": "LeanTransport", "openai": "OpenAITransport"}[request.param]
    assert set(made) <= {expected}  # no client bypassed the transport under test
