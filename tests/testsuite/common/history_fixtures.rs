//! Observations and retention settings for history tests (local folder and S3 alike).

use chrono::{DateTime, Duration, Utc};
use upstate::history::{RawObservation, Retention};
use upstate::probe::{Observation, Outcome};
use upstate::state::ComponentState;

/// An RFC 3339 time.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Component `api` observed at `at` in `state` (down without latency, up with it).
pub fn obs(at: DateTime<Utc>, state: ComponentState, latency: u64) -> RawObservation {
    let outcome = if state == ComponentState::MajorOutage {
        Outcome::down("down")
    } else {
        Outcome::up(Some(latency), "ok")
    };
    RawObservation {
        observation: Observation {
            component: "api".into(),
            at,
            outcome,
            took_ms: None,
        },
        state,
        probed: None,
    }
}

/// The defaults: 7 days of raw observations, 15 minutes of gap still counted as observed.
pub fn retention() -> Retention {
    Retention {
        raw: Duration::days(7),
        max_gap: Duration::minutes(15),
    }
}
