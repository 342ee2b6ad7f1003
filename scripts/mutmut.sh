#!/usr/bin/env bash
# Mutation testing of the pure rules (ecssim/rules/) with mutmut 3, outside
# the default test command. Configuration: [tool.mutmut] in pyproject.toml.
# Results and the equivalent mutants: docs/mutation-testing.md.
#
#   scripts/mutmut.sh                   every rule module
#   scripts/mutmut.sh protection placement   only these modules
#
# Environment: MUTMUT_CHILDREN (default 1) parallel test processes.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import mutmut" 2>/dev/null; then
  .venv/bin/pip install -q 'mutmut>=3.8,<4'
fi
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-dev}" MPLBACKEND=Agg
names=()
for module in "$@"; do
  names+=("ecssim.rules.${module}.*")
done
.venv/bin/mutmut run --max-children "${MUTMUT_CHILDREN:-1}" "${names[@]}"
.venv/bin/mutmut results
