"""Framework integration tests: each framework's own directory (`with_<framework>`, not
`<framework>`: a directory named like the package would shadow it on sys.path), collected
only in its own virtual environment (`TYCOON_INTEGRATION=<framework>`, set by
.ci/integrations.sh), since the frameworks' pins conflict. The core `pytest -q` run
collects none of them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

FRAMEWORKS = ("openenv", "skyrl", "inspect", "verifiers", "trl")

collect_ignore = [
    f"with_{name}" for name in FRAMEWORKS if name != os.environ.get("TYCOON_INTEGRATION")
]

# the loopback servers (openai_server, pg_server) live in tests/
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
