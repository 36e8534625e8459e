//! The reservation race: teachers book the same slot of one resource (10 h –
//! 11 h on a day of its own each cycle) all at once; the one whose booking is
//! acknowledged finds it in the day view, holds it a few milliseconds, cancels
//! it, and the race starts again until the kill.
//!
//! What "acknowledged" means here follows the plugin: a booking reads the
//! resource's version key, checks conflicts and writes the reservation with the
//! bumped version in one `batch_if` conditioned on the version read, flushed
//! before the 303; a 409 (taken, or too many concurrent writers) writes
//! nothing. A cancellation's 303 comes after the deletion is flushed. So after
//! a restart the slot is held by the racer told it holds it (booked, no
//! cancellation sent), or — when a booking or a cancellation was in flight — by
//! one of the racers concerned or by nobody; never by two people.

use std::time::Duration;

use preau_tests::{Client, PILAT, unescape};

use super::workload::Shared;
use super::{Rng, sent_then_failed};

/// The racers (teachers: they book without validation) and their names as the
/// calendar shows them.
pub(super) const RACERS: [(&str, &str); 4] = [
    ("marie.lefebvre", "Marie Lefebvre"),
    ("karim.haddad", "Karim Haddad"),
    ("sophie.giraud", "Sophie Giraud"),
    ("thomas.roux", "Thomas Roux"),
];
/// The demo's resource raced for.
const RESOURCE: &str = "Salle Multi 1";
const SLOT: (&str, &str) = ("10:00", "11:00");
/// A loser waits up to this long before trying again.
pub(super) const RETRY_MAX_MS: u64 = 5;
/// The winner holds the slot up to this long before cancelling (so that kills
/// also land while a booking is held, not only in flight).
pub(super) const HOLD_MAX_MS: u64 = 30;

/// The day raced for in `cycle` (far in the future, one per cycle).
pub(super) fn day_of(cycle: usize) -> String {
    format!(
        "{}-{:02}-{:02}",
        2097 + cycle / 336,
        1 + cycle / 28 % 12,
        1 + cycle % 28
    )
}

/// The URL of the raced resource, from the reservations' index.
pub(super) async fn resource_url(client: &Client) -> String {
    let base = format!("/e/{PILAT}/reservations/r/");
    let index = client
        .get(&format!("/e/{PILAT}/reservations/"))
        .await
        .unwrap();
    assert_eq!(index.status, 200, "réservations");
    let html = unescape(&index.body);
    let at = html.find(&format!(">{RESOURCE}<")).expect("ressource");
    let start = html[..at].rfind(&base).expect("lien de la ressource");
    html[start..].chars().take_while(|c| *c != '"').collect()
}

fn day_view(resource: &str, day: &str) -> String {
    format!("{resource}?vue=jour&date={day}")
}

/// The reservations a day view lists: (link, author), each once.
fn holders(html: &str) -> Vec<(String, String)> {
    let html = unescape(html);
    let mut found: Vec<(String, String)> = Vec::new();
    for (at, _) in html.match_indices("<p class=\"calendar-item\"><a href=\"") {
        let item = &html[at..];
        let link_at = item.find("href=\"").unwrap() + 6;
        let link: String = item[link_at..].chars().take_while(|c| *c != '"').collect();
        let author = item
            .split_once("</a>")
            .and_then(|(_, rest)| rest.split_once("<span"))
            .map(|(text, _)| text.split(" — ").next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        if !found.iter().any(|(l, _)| *l == link) {
            found.push((link, author));
        }
    }
    found
}

/// The reservations the day view of `day` lists (on any server).
pub(super) async fn holders_on(
    client: &Client,
    resource: &str,
    day: &str,
) -> Vec<(String, String)> {
    let page = client.get(&day_view(resource, day)).await.unwrap();
    assert_eq!(page.status, 200, "calendrier du {day}");
    holders(&page.body)
}

/// Where a racer stood when the server died.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Position {
    Idle,
    /// Booking sent, no answer.
    Booking,
    /// Told it holds the slot (and, once seen in the calendar, its reservation's link).
    Holding(Option<String>),
    /// Cancellation of the reservation at this link sent, no answer.
    Cancelling(String),
}

/// The race of one cycle, as the racers saw it.
#[derive(Default)]
pub(super) struct RaceLog {
    pub day: String,
    pub positions: Vec<Position>,
    /// Booking requests sent (answered, or in flight at the kill).
    pub attempts: usize,
    /// Bookings acknowledged (303).
    pub won: usize,
    /// Refused because the slot was taken (409 « déjà réservé »).
    pub taken: usize,
    /// Refused because too many wrote at once (409 « Trop de réservations simultanées »).
    pub busy: usize,
    /// Cancellations acknowledged (303): the reservations' links.
    pub cancelled: Vec<String>,
    /// Day views showing two reservations of the slot while the server ran.
    pub double_holders: Vec<String>,
}

impl RaceLog {
    pub(super) fn new(day: &str) -> RaceLog {
        RaceLog {
            day: day.to_string(),
            positions: vec![Position::Idle; RACERS.len()],
            ..Default::default()
        }
    }
}

/// One racer of a cycle.
pub(super) struct Racer {
    pub me: usize,
    pub client: Client,
    pub csrf: String,
    pub resource: String,
    pub day: String,
    pub rng: Rng,
}

impl Racer {
    fn stand(&self, log: &Shared, position: Position) {
        log.lock().unwrap().race.positions[self.me] = position;
    }

    /// Books, cancels, books again… until a request fails (the kill).
    pub(super) async fn run(mut self, log: Shared) {
        let (login, name) = RACERS[self.me];
        let view = day_view(&self.resource, &self.day);
        loop {
            self.stand(&log, Position::Booking);
            let fields = [
                ("date", self.day.as_str()),
                ("debut", SLOT.0),
                ("fin", SLOT.1),
                ("repetition", "aucune"),
                ("csrf", &self.csrf),
            ];
            match self.client.post_raw(&self.resource, &fields).await {
                Ok(page) if page.status == 303 => {
                    self.stand(&log, Position::Holding(None));
                    let mut log = log.lock().unwrap();
                    log.race.attempts += 1;
                    log.race.won += 1;
                }
                Ok(page) => {
                    self.stand(&log, Position::Idle);
                    {
                        let mut log = log.lock().unwrap();
                        log.race.attempts += 1;
                        match page.status {
                            409 if page.body.contains("Trop de réservations simultanées") => {
                                log.race.busy += 1
                            }
                            409 if page.body.contains("Ce créneau est déjà réservé") => {
                                log.race.taken += 1
                            }
                            other => log.refused.push(format!("réservation ({login}) : {other}")),
                        }
                    }
                    let pause = self.rng.between(0, RETRY_MAX_MS + 1);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    continue;
                }
                Err(e) => {
                    if sent_then_failed(&e) {
                        log.lock().unwrap().race.attempts += 1;
                    } else {
                        self.stand(&log, Position::Idle);
                    }
                    return;
                }
            }
            // The slot is ours until we cancel: the day view shows us, alone.
            let Ok(page) = self.client.get(&view).await else {
                return;
            };
            let shown = holders(&page.body);
            if shown.len() > 1 {
                let mut log = log.lock().unwrap();
                log.race
                    .double_holders
                    .push(format!("{} (serveur en marche) : {shown:?}", self.day));
            }
            let Some((link, _)) = shown.into_iter().find(|(_, author)| author == name) else {
                log.lock().unwrap().refused.push(format!(
                    "réservation acquittée de {login} absente du calendrier ({}) : {}",
                    page.status, self.day
                ));
                return;
            };
            self.stand(&log, Position::Holding(Some(link.clone())));
            let hold = self.rng.between(0, HOLD_MAX_MS + 1);
            tokio::time::sleep(Duration::from_millis(hold)).await;
            self.stand(&log, Position::Cancelling(link.clone()));
            match self
                .client
                .post_raw(&format!("{link}/supprimer"), &[("csrf", &self.csrf)])
                .await
            {
                Ok(page) if page.status == 303 => {
                    self.stand(&log, Position::Idle);
                    log.lock().unwrap().race.cancelled.push(link);
                }
                Ok(page) => {
                    self.stand(&log, Position::Holding(Some(link)));
                    log.lock()
                        .unwrap()
                        .refused
                        .push(format!("annulation ({login}) : {}", page.status));
                    return;
                }
                Err(e) => {
                    if !sent_then_failed(&e) {
                        self.stand(&log, Position::Holding(Some(link)));
                    }
                    return;
                }
            }
        }
    }
}

/// A race's end as the racers were told, and what the first restart found.
pub(super) struct Race {
    pub day: String,
    /// Racers told they hold the slot, no cancellation sent: one at most, and
    /// it must hold it.
    pub holding: Vec<(usize, Option<String>)>,
    /// Racers whose booking was in flight: each may hold a new reservation.
    pub booking: Vec<usize>,
    /// Racers whose cancellation was in flight: each may still hold that reservation.
    pub cancelling: Vec<(usize, String)>,
    /// Reservations whose cancellation was acknowledged: never to be seen again.
    pub cancelled: Vec<String>,
    /// The reservations found at the first restart; later restarts must find the same.
    settled: Option<Vec<(String, String)>>,
}

/// What the checks of the races found, all restarts together.
#[derive(Default)]
pub(super) struct RaceFindings {
    /// Day views read after restarts.
    pub checks: usize,
    /// Two reservations of one slot (after a restart, or seen while running).
    pub double_holders: Vec<String>,
    /// An acknowledged booking, not cancelled, missing or held by someone else.
    pub lost_bookings: Vec<String>,
    /// A reservation nobody may hold (a cancelled one back, or someone who had
    /// nothing in flight), or a slot that changed between restarts.
    pub wrong_holders: Vec<String>,
    /// Bookings and cancellations in flight at the kill, and how many took effect.
    pub in_flight: usize,
    pub in_flight_applied: usize,
}

impl Race {
    pub(super) fn ended(log: &RaceLog) -> Race {
        let mut race = Race {
            day: log.day.clone(),
            holding: Vec::new(),
            booking: Vec::new(),
            cancelling: Vec::new(),
            cancelled: log.cancelled.clone(),
            settled: None,
        };
        for (racer, position) in log.positions.iter().enumerate() {
            match position {
                Position::Idle => {}
                Position::Booking => race.booking.push(racer),
                Position::Holding(link) => race.holding.push((racer, link.clone())),
                Position::Cancelling(link) => race.cancelling.push((racer, link.clone())),
            }
        }
        race
    }

    /// Whether the reservation at `link` by `author` may be there after the kill.
    fn may_hold(&self, link: &str, author: &str) -> bool {
        let named = |racer: usize| RACERS[racer].1 == author;
        !self.cancelled.iter().any(|c| c == link)
            && (self
                .holding
                .iter()
                .any(|(r, l)| named(*r) && l.as_deref().is_none_or(|l| l == link))
                || self.cancelling.iter().any(|(r, l)| named(*r) && l == link)
                || self.booking.iter().any(|r| named(*r)))
    }

    /// Reads the slot's day view after a restart.
    pub(super) async fn check(
        &mut self,
        client: &Client,
        resource: &str,
        found: &mut RaceFindings,
    ) {
        let page = client.get(&day_view(resource, &self.day)).await.unwrap();
        assert_eq!(page.status, 200, "calendrier du {}", self.day);
        let shown = holders(&page.body);
        found.checks += 1;
        if shown.len() > 1 {
            found
                .double_holders
                .push(format!("{} (après redémarrage) : {shown:?}", self.day));
        }
        let holds = |racer: usize, link: Option<&String>| {
            shown
                .iter()
                .any(|(l, author)| author == RACERS[racer].1 && link.is_none_or(|k| k == l))
        };
        for (racer, link) in &self.holding {
            if !holds(*racer, link.as_ref()) {
                found.lost_bookings.push(format!(
                    "{} : réservé par {}, trouvé {shown:?}",
                    self.day, RACERS[*racer].0
                ));
            }
        }
        for (link, author) in &shown {
            if !self.may_hold(link, author) {
                found.wrong_holders.push(format!(
                    "{} : {author} ({link}) ne devrait pas le tenir",
                    self.day
                ));
            }
        }
        match &self.settled {
            None => {
                for racer in &self.booking {
                    found.in_flight += 1;
                    found.in_flight_applied += usize::from(holds(*racer, None));
                }
                for (_, link) in &self.cancelling {
                    found.in_flight += 1;
                    found.in_flight_applied += usize::from(!shown.iter().any(|(l, _)| l == link));
                }
                self.settled = Some(shown);
            }
            Some(before) if *before != shown => found.wrong_holders.push(format!(
                "{} : {before:?} au redémarrage précédent, {shown:?} maintenant",
                self.day
            )),
            Some(_) => {}
        }
    }
}
