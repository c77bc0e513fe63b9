//! Upstate: a static status-site generator.
//!
//! One run: [`probe`] every component, remember the results in [`history`], merge them with the
//! Markdown files of [`incident`], compute one [`model::Snapshot`], [`render`] every output from
//! it, and [`publish`] the folder. Each stage is one module; see `DESIGN.md` for the map.

pub mod config;
pub mod digest;
mod document;
pub mod duration;
pub mod git;
pub mod history;
pub mod import;
pub mod incident;
pub mod inputs;
pub mod model;
pub mod notify;
pub mod parallel;
pub mod pipeline;
pub mod probe;
pub mod publish;
pub mod region;
pub mod render;
pub mod s3;
pub mod secret;
pub mod site;
pub mod state;
pub mod text;
