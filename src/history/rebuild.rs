//! Rebuilding a damaged daily rollup from the raw observations kept of its day (`upstate
//! history repair`), rather than starting the day afresh: the raw runs hold every observation,
//! so the day's time in states, checks and latencies can be counted again exactly as
//! [`History::record`] counted them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::rollup::{self, DayFile};
use super::{DayFileOnDisk, FORMAT_VERSION, History, HistoryError, RawRun, SET_ASIDE, day_key};
use crate::probe::Health;
use crate::state::ComponentState;

impl History {
    /// Rebuilds the rollups of `day` from raw runs and stores them; the number of raw runs of
    /// that day, or `None` when none is kept (older than `raw_retention`).
    pub(super) fn rebuild_and_store(
        &mut self,
        day: NaiveDate,
    ) -> Result<Option<usize>, HistoryError> {
        let Some((components, runs)) = self.rebuild_day(day)? else {
            return Ok(None);
        };
        let key = day_key(day);
        let file = DayFileOnDisk {
            version: FORMAT_VERSION,
            components,
        };
        self.store.put(&key, &super::to_json(&key, &file)?)?;
        self.days.insert(day, Some(file.components));
        Ok(Some(runs))
    }

    /// The rollups of `day` counted again from the raw runs of that day, with the last run
    /// before it for the time across midnight, each observation's measured state credited as
    /// [`History::record`] does. `None` when no raw run of that day is kept.
    fn rebuild_day(&self, day: NaiveDate) -> Result<Option<(DayFile, usize)>, HistoryError> {
        let runs = self.raw_runs_for(day)?;
        let on_day = runs.iter().filter(|r| r.at.date_naive() == day).count();
        if on_day == 0 {
            return Ok(None);
        }
        let mut file = DayFile::new();
        let mut last: BTreeMap<String, (DateTime<Utc>, ComponentState)> = BTreeMap::new();
        for run in &runs {
            for raw in run.observations.iter() {
                let id = &raw.observation.component;
                let measured = raw.measured();
                if let Some(&(last_at, last_state)) = last.get(id)
                    && run.at > last_at
                {
                    let pieces = rollup::credit_between(
                        last_at,
                        last_state,
                        run.at,
                        measured,
                        self.retention.max_gap,
                    );
                    for (from, to, state) in pieces {
                        for (_, from, to) in rollup::split_at_midnights(from, to)
                            .into_iter()
                            .filter(|(d, _, _)| *d == day)
                        {
                            file.entry(id.clone())
                                .or_default()
                                .add_time(from, to, state);
                        }
                    }
                }
                if run.at.date_naive() == day {
                    file.entry(id.clone()).or_default().add_check(
                        measured,
                        raw.observation.outcome.health == Health::Down,
                        raw.observation.outcome.latency_ms,
                        raw.observation.outcome.value,
                    );
                }
                last.insert(id.clone(), (run.at, measured));
            }
        }
        Ok(Some((file, on_day)))
    }

    /// The readable raw runs of `day` and the latest one before it, oldest first (an unreadable
    /// one is skipped: `history check` names it).
    fn raw_runs_for(&self, day: NaiveDate) -> Result<Vec<RawRun<'static>>, HistoryError> {
        let mut before = None;
        let mut keys = Vec::new();
        // Keys sort by time: `raw/YYYY-MM-DD/HHMMSS.ffffffZ.json.gz`.
        for key in self.store.list("raw")? {
            let key_day = key
                .split('/')
                .nth(1)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            match key_day {
                _ if key.contains(SET_ASIDE) => {}
                Some(d) if d == day => keys.push(key),
                Some(d) if d < day => before = Some(key),
                _ => {}
            }
        }
        let mut runs: Vec<RawRun<'static>> = before
            .into_iter()
            .chain(keys)
            .filter_map(|key| self.read_json::<RawRun<'static>>(&key).ok().flatten())
            .collect();
        runs.sort_by_key(|r| r.at);
        Ok(runs)
    }
}
