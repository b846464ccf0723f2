#!/usr/bin/env bash
# Framework integrations, each in its own virtual environment with its own extra (their
# pins conflict: inspect-ai needs openai>=3.4, verifiers pins openai<3 and mcp==2.0.0, TRL
# brings torch, ...). Called by
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
declare -A EXTRAS=([openenv]=openenv [skyrl]=skyrl [inspect]=inspect [verifiers]=verifiers [trl]=trl)
# framework -> what else its venv installs: the `tycoon-vending` verifiers environment
# package; torch for TRL from the CPU wheel pip finds first (a plain `torch` requirement
# would pull a CUDA build of several GB)
declare -A MORE=([verifiers]="-e environments/tycoon_vending" [trl]="torch==2.13.0")
FRAMEWORKS=("$@")
[[ ${#FRAMEWORKS[@]} -eq 0 ]] && FRAMEWORKS=(openenv skyrl inspect verifiers trl)

status=0
for framework in "${FRAMEWORKS[@]}"; do
    extra="${EXTRAS[$framework]:?unknown framework $framework}"
    venv="$VENV_ROOT/$framework"
    printf '\n==> integration: %s (venv %s, extra [%s])\n' "$framework" "$venv" "$extra"
    [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
    # the extra and what the integration tests use; not the whole test extra (ray, playwright)
    read -r -a more <<<"${MORE[$framework]:-}"
    "$venv/bin/python" -m pip install -q -e ".[$extra]" "${more[@]}" "${TEST_DEPS[@]}"
    "$venv/bin/python" -m pip list 2>/dev/null \
        | grep -i -E "^(openenv-core|openenv|skyrl-gym|inspect_ai|inspect-ai|verifiers|uv|trl|transformers|torch) " || true
    # the venv's bin on PATH: verifiers runs its chat harness with the venv's uv
    PATH="$venv/bin:$PATH" TYCOON_INTEGRATION="$framework" "$venv/bin/python" -m pytest -q \
        -p no:cacheprovider "tests/integrations/with_$framework" || status=$?
done
exit "$status"
