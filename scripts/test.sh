#!/usr/bin/env bash
# The whole test suite: real PostgreSQL and Redis (started or installed if missing), the Rust
# tests, then the external validators on a freshly built demo site (scripts/validate.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
cargo test --locked
# The integration tests built target/debug/upstate from this very tree; the validators use it
# rather than `cargo build --bin upstate`, which resolves features without the dev-dependencies
# and so compiles every shared crate a second time (twice the disk, minutes of CPU).
UPSTATE_BIN="$PWD/target/debug/upstate" bash scripts/validate.sh
