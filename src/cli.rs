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

/// Output formats of `upstate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// `file:line:col: error: …` with a source snippet and the fix.
    Human,
    /// `::error file=…,line=…,col=…::…` lines, which GitHub shows on the pull request's diff.
    Github,
    /// One JSON document: `{"ok": bool, "findings": [...]}`.
    Json,
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
    ///
    /// Needs no secrets: a `${NAME}` that is not set is a note (it is read from the environment
    /// at run time), unless --strict.
    Check {
        #[command(flatten)]
        site: SiteArgs,
        /// Treat an unset `${NAME}` as an error, as `run` does.
        #[arg(long)]
        strict: bool,
        /// How to print findings: for people, as GitHub Actions annotations on the file and
        /// line, or as JSON.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Same as `--format json` (as `probe --json` and `run --json`).
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
    /// Probe every component once and print a table; with --region, write the observations to
    /// a shared store for `run --merge` instead (one CI job per region or shard).
    Probe {
        #[command(flatten)]
        site: SiteArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// This runner's region name (letters, digits, - and _); requires --out.
        #[arg(long, requires = "out")]
        region: Option<String>,
        /// Probe only shard K of N of the components (e.g. 2/4).
        #[arg(long, default_value = "1/1")]
        shard: String,
        /// The shared store to write to: a folder or s3://bucket/prefix (usually `[history] store`).
        #[arg(long, requires = "region")]
        out: Option<String>,
    },
    /// Render the site from history and incidents, without probing.
    Build {
        #[command(flatten)]
        site: SiteArgs,
        /// Show the merged latest reports of every region instead of the last local run.
        #[arg(long)]
        merge: bool,
    },
    /// Publish the last built site.
    Publish(SiteArgs),
    /// Probe, record history, build and publish: the command a schedule runs.
    Run {
        #[command(flatten)]
        site: SiteArgs,
        /// Print a JSON summary of the run on stdout.
        #[arg(long)]
        json: bool,
        /// Do not probe: merge the latest reports every region wrote with `probe --region`.
        #[arg(long)]
        merge: bool,
    },
    /// Preview the site on 127.0.0.1 and rebuild it when the config, incidents, content, static
    /// files or theme change.
    Serve {
        #[command(flatten)]
        site: SiteArgs,
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Address to listen on. The default keeps the preview on this machine; `0.0.0.0` shows
        /// it to the network (e.g. from inside a container).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
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
    /// Convert a peer status page's incidents into files under incidents/.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Check notification targets before an outage does.
    Notify {
        #[command(subcommand)]
        what: NotifyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a clearly marked test event to one `[[notify]]` target and print its answer; exit 1
    /// if it refused or could not be reached. A paging target gets a test trigger and its
    /// resolve, so the alert closes again at once.
    Test {
        /// The target's `name`, or its position among the `[[notify]]` sections (1 = first).
        target: String,
        #[command(flatten)]
        site: SiteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A cState site: DIR/content/issues/*.md (DIR/config.yml improves the warnings).
    Cstate {
        /// The cState site's root folder.
        dir: PathBuf,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// A saved Statuspage API document: incidents.json, scheduled-maintenances.json or
    /// summary.json from https://<page>/api/v2/.
    Statuspage {
        file: PathBuf,
        #[command(flatten)]
        site: SiteArgs,
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
