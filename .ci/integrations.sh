#!/usr/bin/env bash
# Framework integrations, each in its own virtual environment with its own extra (their
# pins conflict: inspect-ai needs openai>=3.4, verifiers pins openai<3, ...). Called by
# .ci/run after the core tests; run alone with `bash .ci/integrations.sh [FRAMEWORK...]`.
# The tests of framework F live in tests/integrations/with_F and are collected only when
# TYCOON_INTEGRATION=F (the core `pytest -q` run collects none of them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV_ROOT="${TYCOON_INTEGRATION_VENVS:-${TMPDIR:-/tmp}/tycoon-integration-venvs}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

TEST_DEPS=("pytest>=8" "pytest-timeout>=2.3" "psycopg[binary]>=3.1" "pyarrow>=14")

# framework -> the extra that brings it
declare -A EXTRAS=([openenv]=openenv [skyrl]=skyrl [inspect]=inspect)
FRAMEWORKS=("$@")
[[ ${#FRAMEWORKS[@]} -eq 0 ]] && FRAMEWORKS=(openenv skyrl inspect)

status=0
for framework in "${FRAMEWORKS[@]}"; do
    extra="${EXTRAS[$framework]:?unknown framework $framework}"
    venv="$VENV_ROOT/$framework"
    printf '\n==> integration: %s (venv %s, extra [%s])\n' "$framework" "$venv" "$extra"
    [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
    # the extra and what the integration tests use; not the whole test extra (ray, playwright)
    "$venv/bin/python" -m pip install -q -e ".[$extra]" "${TEST_DEPS[@]}"
    "$venv/bin/python" -m pip list 2>/dev/null | grep -i -E "^(openenv-core|skyrl-gym|inspect_ai|inspect-ai|verifiers|trl) " || true
    TYCOON_INTEGRATION="$framework" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        "tests/integrations/with_$framework" || status=$?
done
exit "$status"
