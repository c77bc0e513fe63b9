//! Logs go to stderr, and every line passes the secret scrubber first.
//!
//! At `trace` level every crate logs, and libraries log what they hold: the WebSocket library its
//! request line (`GET /socket?token=…`), HTTP clients their URLs. Scrubbing at our call sites is
//! not enough, so the subscriber's writer scrubs each formatted line, whoever wrote it.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use upstate::config::secret::scrub;

/// Installs the subscriber: filtered by `UPSTATE_LOG` (or `RUST_LOG`, default `warn`), no
/// timestamps, colour only on a terminal, every line scrubbed.
pub fn init() {
    let filter = std::env::var("UPSTATE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(ScrubbedStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
}

/// Hands the formatter one [`ScrubbedLine`] per event.
struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedLine;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedLine(Vec::new())
    }
}

/// Collects one formatted event and writes it, scrubbed, to stderr when dropped. The whole event
/// is scrubbed at once, so a secret split across the formatter's writes is still found.
struct ScrubbedLine(Vec<u8>);

impl Write for ScrubbedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = scrub(&String::from_utf8_lossy(&self.0));
        // Nowhere left to report a failed write to stderr.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}
