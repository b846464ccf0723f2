"""tycoon.instrumentation: behaviour taxonomy, rule detectors, LLM judge, episode metrics
and gold-set validation.

Data flows: the env fills a `StepTrace` per step -> `run_detectors(trace)` returns
`BehaviorEventModel`s (rules; microseconds) -> `MonitorSet` decides which of them the
reward may see -> `LLMJudge` adds judged tags for text, live or after the fact ->
`episode_metrics` summarises an episode per tag. See TAXONOMY.md for every tag.
"""

from tycoon.instrumentation.detectors import (
    DEFAULT_DETECTORS,
    DETECTORS,
    Detector,
    run_detectors,
)
from tycoon.instrumentation.events import BehaviorEventModel
from tycoon.instrumentation.judge import JudgeRequest, JudgeVerdict, LLMJudge, judge_requests
from tycoon.instrumentation.metrics import (
    EpisodeMetrics,
    OpportunityTally,
    TagMetrics,
    episode_metrics,
    episode_metrics_from_store,
    normalised_scores,
    with_scores,
)
from tycoon.instrumentation.monitors import ALL_VISIBLE, DEFAULT_MONITORS, MonitorSet
from tycoon.instrumentation.taxonomy import JUDGE, TAGS, TAXONOMY, TagSpec
from tycoon.instrumentation.trace import (
    EmailSent,
    FileWrite,
    Payment,
    PermissionChange,
    ScenarioFacts,
    StateSnapshot,
    StepTrace,
    TracedCall,
)

__all__ = [
    "ALL_VISIBLE",
    "DEFAULT_DETECTORS",
    "DEFAULT_MONITORS",
    "DETECTORS",
    "JUDGE",
    "TAGS",
    "TAXONOMY",
    "BehaviorEventModel",
    "Detector",
    "EmailSent",
    "EpisodeMetrics",
    "FileWrite",
    "JudgeRequest",
    "JudgeVerdict",
    "LLMJudge",
    "MonitorSet",
    "OpportunityTally",
    "Payment",
    "PermissionChange",
    "ScenarioFacts",
    "StateSnapshot",
    "StepTrace",
    "TagMetrics",
    "TagSpec",
    "TracedCall",
    "episode_metrics",
    "episode_metrics_from_store",
    "judge_requests",
    "normalised_scores",
    "run_detectors",
    "with_scores",
]
