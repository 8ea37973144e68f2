#!/usr/bin/env bash
# make compose-env: write .env from .env.example with a random value for every
# empty setting (the secrets). Never overwrites an existing .env.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -e .env ]]; then
  echo ".env exists; edit it, or delete it to generate a new one (new secrets do not fit existing volumes: make compose-down V=1 first)" >&2
  exit 1
fi
rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
umask 077
while IFS= read -r line; do
  if [[ $line =~ ^([A-Z0-9_]+)=$ ]]; then
    printf '%s=%s\n' "${BASH_REMATCH[1]}" "$(rand)"
  else
    printf '%s\n' "$line"
  fi
done < .env.example > .env
echo "wrote .env with new secrets (mode 600); the admin login is ADMIN_EMAIL / ADMIN_PASSWORD in it"
