//! The test suite, one binary (as ripgrep and mdBook do): the library and every dependency are
//! linked once instead of once per file, which is most of a cold `cargo test` and gigabytes of
//! disk. Each module is one area; `common` holds the servers and helpers they share.
//!
//! Every test here runs in one process: a test that sets an environment variable uses a name
//! no other test reads, and none changes the working directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod cli;
mod config;
mod faults;
mod fuzz;
mod history;
mod history_git;
mod import;
mod incidents;
mod incremental;
mod injection;
#[cfg(unix)]
mod inputs;
mod notify;
mod notify_targets;
mod oncall;
mod page;
mod probe_kinds;
mod probe_more_kinds;
mod probe_network;
mod probes;
mod publish_git;
mod regions;
mod s3;
mod serve;
mod states;
mod statuspage_api;
