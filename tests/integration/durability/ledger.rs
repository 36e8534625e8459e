//! Everything the workload was told, cycle after cycle, and what the re-reads
//! after each restart found.

use std::collections::{BTreeMap, BTreeSet};

use preau_tests::Client;

use super::Rng;
use super::race::{Race, RaceFindings, RaceLog};
use super::workload::{CycleLog, Kind, Written};

/// Earlier writes of each kind re-read (at random) after each restart; all are
/// re-read after the last.
pub(super) const SAMPLE_EARLIER: usize = 20;

#[derive(Default)]
pub(super) struct Ledger {
    /// Every acknowledged write, oldest first.
    pub acknowledged: Vec<Written>,
    /// How many of them the last cycle wrote (all re-read at the next start).
    last_cycle: usize,
    /// Writes of the last cycle in flight at the kill.
    in_flight: Vec<Written>,
    /// One race per cycle.
    pub races: Vec<Race>,
    /// The reservations' resource.
    resource: String,
    /// Answers a running server should not have given.
    pub refused: Vec<String>,
    /// The races' counts, all cycles together.
    pub race: RaceLog,
    /// Acknowledged writes missing (or another one at their URL) after a restart.
    pub lost: Vec<String>,
    /// Re-reads of acknowledged writes, per kind.
    pub checks: [usize; Kind::ALL.len()],
    /// Writes in flight at the kills, per kind, and how many were there after the restart.
    pub in_flight_sent: [usize; Kind::ALL.len()],
    pub in_flight_present: [usize; Kind::ALL.len()],
    pub slots: RaceFindings,
}

impl Ledger {
    /// Adds what a cycle's writers were told.
    pub(super) fn record(&mut self, log: CycleLog) {
        self.last_cycle = log.acknowledged.len();
        self.acknowledged.extend(log.acknowledged);
        self.in_flight = log.in_flight;
        self.refused.extend(log.refused);
        self.resource = log.resource;
        let race = log.race;
        self.races.push(Race::ended(&race));
        self.race.attempts += race.attempts;
        self.race.won += race.won;
        self.race.taken += race.taken;
        self.race.busy += race.busy;
        self.race.cancelled.extend(race.cancelled);
        self.slots.double_holders.extend(race.double_holders);
    }

    /// The acknowledged writes of `kind`.
    pub(super) fn count(&self, kind: Kind) -> usize {
        self.acknowledged.iter().filter(|w| w.kind == kind).count()
    }

    /// Bookings the racers were told they hold at the kills (not cancelled).
    pub(super) fn held_at_kills(&self) -> usize {
        self.races.iter().map(|r| r.holding.len()).sum()
    }

    /// Adds writes acknowledged outside a cycle (re-read at the next start).
    pub(super) fn add(&mut self, written: Vec<Written>) {
        self.last_cycle = written.len();
        self.acknowledged.extend(written);
    }

    /// The reservations' resource (known once a cycle is recorded).
    pub(super) fn resource(&self) -> &str {
        &self.resource
    }

    /// `SAMPLE_EARLIER` writes of each kind drawn among the first `earlier`.
    fn sample(&self, rng: &mut Rng, earlier: usize) -> BTreeSet<usize> {
        let mut chosen = BTreeSet::new();
        for kind in Kind::ALL {
            let of_kind: Vec<usize> = (0..earlier)
                .filter(|&i| self.acknowledged[i].kind == kind)
                .collect();
            for _ in 0..SAMPLE_EARLIER.min(of_kind.len()) {
                chosen.insert(of_kind[rng.between(0, of_kind.len() as u64) as usize]);
            }
        }
        chosen
    }

    /// On a server started on a restored backup: re-reads every write from
    /// `from` to `to` (acknowledged in the cycle, before the backup began)
    /// and `SAMPLE_EARLIER` earlier ones of each kind. Returns the writes
    /// re-read per kind and the missing ones.
    pub(super) async fn check_restored(
        &self,
        client: &Client,
        rng: &mut Rng,
        from: usize,
        to: usize,
    ) -> ([usize; Kind::ALL.len()], Vec<String>) {
        let mut chosen = self.sample(rng, from);
        chosen.extend(from..to);
        let writes: Vec<&Written> = chosen.into_iter().map(|i| &self.acknowledged[i]).collect();
        let mut checks = [0; Kind::ALL.len()];
        let missing = read_back(client, &writes, &mut checks).await;
        (checks, missing)
    }

    /// After a restart: re-reads the last cycle's acknowledged writes and
    /// `SAMPLE_EARLIER` earlier ones of each kind (`all`: every one), looks
    /// for the writes that were in flight, and reads every race's slot.
    pub(super) async fn check(&mut self, client: &Client, rng: &mut Rng, all: bool) {
        let earlier = self.acknowledged.len() - self.last_cycle;
        let chosen: BTreeSet<usize> = if all {
            (0..self.acknowledged.len()).collect()
        } else {
            let mut chosen = self.sample(rng, earlier);
            chosen.extend(earlier..self.acknowledged.len());
            chosen
        };
        let writes: Vec<&Written> = chosen.into_iter().map(|i| &self.acknowledged[i]).collect();
        let lost = read_back(client, &writes, &mut self.checks).await;
        self.lost.extend(lost);
        // Unanswered writes may or may not be there.
        for written in std::mem::take(&mut self.in_flight) {
            let page = client.get(&written.url).await.unwrap();
            assert_eq!(page.status, 200, "{}", written.url);
            self.in_flight_sent[written.kind.index()] += 1;
            if page.body.contains(&written.needle) {
                self.in_flight_present[written.kind.index()] += 1;
            }
        }
        for race in &mut self.races {
            race.check(client, &self.resource, &mut self.slots).await;
        }
    }
}

/// Reads back `writes` (one read per page: a forum subject shows all its
/// messages), counts the re-reads per kind; returns the ones missing.
async fn read_back(
    client: &Client,
    writes: &[&Written],
    checks: &mut [usize; Kind::ALL.len()],
) -> Vec<String> {
    let mut pages: BTreeMap<&str, Vec<&Written>> = BTreeMap::new();
    for written in writes {
        pages.entry(&written.url).or_default().push(written);
    }
    let mut lost = Vec::new();
    for (url, writes) in pages {
        let page = client.get(url).await.ok().filter(|p| p.status == 200);
        for written in writes {
            checks[written.kind.index()] += 1;
            if !page
                .as_ref()
                .is_some_and(|p| p.body.contains(&written.needle))
            {
                let status = page.as_ref().map_or(0, |p| p.status);
                lost.push(format!(
                    "{} « {} » ({url}, {status})",
                    written.kind.label(),
                    written.needle.trim_end_matches('<')
                ));
            }
        }
    }
    lost
}
