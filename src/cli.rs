//! Command-line interface: `upstate <command>`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Upstate: a status page that is just files.
#[derive(Debug, Parser)]
#[command(name = "upstate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command that reads a site takes.
#[derive(Debug, Args, Clone)]
pub struct SiteArgs {
    /// The config file; its folder is the site folder (incidents/, content/, themes/).
    #[arg(
        long,
        short = 'c',
        default_value = "upstate.toml",
        env = "UPSTATE_CONFIG"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a working site: upstate.toml, incidents/, content/, a CI workflow.
    Init {
        /// Where to create the site.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Validate the config and every incident file without probing; exit 2 on any error.
    Check(SiteArgs),
    /// Probe every component once and print a table; writes nothing.
    Probe {
        #[command(flatten)]
        site: SiteArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Render the site from history and incidents, without probing.
    Build(SiteArgs),
    /// Publish the last built site.
    Publish(SiteArgs),
    /// Probe, record history, build and publish: the command a schedule runs.
    Run {
        #[command(flatten)]
        site: SiteArgs,
        /// Print a JSON summary of the run on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a new incident or maintenance file.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
    /// Inspect or repair the history store.
    History {
        #[command(subcommand)]
        what: HistoryCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A new incident (status: investigating, discovered now).
    Incident {
        title: String,
        /// Affected component ids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        components: Vec<String>,
        /// minor, major or critical.
        #[arg(long, default_value = "minor")]
        severity: String,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// A new maintenance notice.
    Maintenance {
        title: String,
        /// Start, RFC 3339 (e.g. 2026-12-01T02:00:00Z).
        #[arg(long)]
        starts: String,
        /// End, RFC 3339.
        #[arg(long)]
        ends: String,
        /// Affected component ids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        components: Vec<String>,
        #[command(flatten)]
        site: SiteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// List every history file that cannot be read; exit 3 if any.
    Check(SiteArgs),
    /// Move unreadable history files aside (never deletes) so runs can write again.
    Repair(SiteArgs),
}
