#!/usr/bin/env bash
# The whole test suite: real PostgreSQL and Redis (started or installed if missing), the Rust
# tests, then the external validators on a freshly built demo site (scripts/validate.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
cargo test --locked
bash scripts/validate.sh
