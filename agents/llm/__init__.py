"""tycoon.agents.llm: LLM agents over OpenAI-compatible servers (vLLM, OpenAI, ...)."""

from tycoon.agents.llm.agent import AgentStalled, Decision, LlmAgent, system_prompt
from tycoon.agents.llm.client import (
    ChatClient,
    ChatResult,
    LlmError,
    LlmRequestRejected,
    LlmUnavailable,
)
from tycoon.agents.llm.parsing import CONTINUE, ParsedReply, ParseStatus, parse_reply
from tycoon.agents.llm.settings import LlmSettings

__all__ = [
    "CONTINUE",
    "AgentStalled",
    "ChatClient",
    "ChatResult",
    "Decision",
    "LlmAgent",
    "LlmError",
    "LlmRequestRejected",
    "LlmSettings",
    "LlmUnavailable",
    "ParseStatus",
    "ParsedReply",
    "parse_reply",
    "system_prompt",
]
