//! The reservations' records and every pure rule about them (unit-tested natively):
//! dates and times, overlaps, periodic reservations, thresholds, the week grid,
//! statistics and their SVG chart, and who may do what.
//!
//! **Time.** Everything is in the establishment's local time, stored as it was typed:
//! a day (`Day`, the SDK's [`Date`]: days since 1970-01-01 in the proleptic Gregorian
//! calendar) and minutes since midnight. No time zone is stored; "now" is the
//! establishment's local time ([`Invocation::local_now`], in the time zone the host
//! passes: Europe/Paris, Indian/Reunion…), which is only used to tell past from
//! upcoming. Calendar arithmetic and French date formatting are the SDK's
//! (`preau_sdk::time`).

use preau_sdk::prelude::*;
use preau_sdk::time::{self, Date};
use serde::{Deserialize, Serialize};

/// Longest domain or resource name.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest description or reservation object.
pub const MAX_TEXT_CHARS: usize = 300;
/// Most occurrences of one periodic reservation.
pub const MAX_OCCURRENCES: usize = 60;

// ---------------------------------------------------------------- roles

/// Role ids of the manifest.
pub const VISITEUR: &str = "visiteur";
pub const REDACTEUR: &str = "redacteur";
pub const REDACTEUR_EN_LIGNE: &str = "redacteur-en-ligne";
pub const MODERATEUR: &str = "moderateur";
pub const GESTIONNAIRE: &str = "gestionnaire";

/// What the caller may do on one resource (or domain), from their roles for its scope chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Consult availabilities.
    pub read: bool,
    /// Create a reservation and modify their own.
    pub book: bool,
    /// Their reservations are validated at once (otherwise they wait for validation).
    pub publish: bool,
    /// Modify, validate, delete others' reservations; notified of reservations to validate.
    pub moderate: bool,
    /// Create domains and resources, set rights; notified of thresholds reached.
    pub manage: bool,
}

impl Access {
    /// The rights given by `roles`.
    pub fn from_roles(roles: &[String]) -> Access {
        let has = |r: &str| roles.iter().any(|x| x == r);
        let manage = has(GESTIONNAIRE);
        let moderate = manage || has(MODERATEUR);
        let publish = moderate || has(REDACTEUR_EN_LIGNE);
        let book = publish || has(REDACTEUR);
        Access {
            read: book || has(VISITEUR),
            book,
            publish,
            moderate,
            manage,
        }
    }

    /// Whether the caller `user` may modify (or cancel) `reservation`.
    pub fn may_edit(&self, reservation: &Reservation, user: Option<&str>) -> bool {
        self.moderate || (self.book && user == Some(reservation.author_id.as_str()))
    }
}

/// Scope id of a domain.
pub fn domain_scope(domain: Id) -> String {
    format!("d-{domain}")
}

/// Scope id of a resource.
pub fn resource_scope(resource: Id) -> String {
    format!("r-{resource}")
}

/// The scope chain of a resource, most specific first.
pub fn resource_chain(resource: Id, domain: Id) -> Vec<String> {
    vec![resource_scope(resource), domain_scope(domain)]
}

/// A parsed scope id.
#[derive(Debug, PartialEq, Eq)]
pub enum Scope {
    Domain(Id),
    Resource(Id),
}

impl Scope {
    pub fn parse(scope: &str) -> Option<Scope> {
        if let Some(id) = scope.strip_prefix("d-") {
            Id::parse(id).map(Scope::Domain)
        } else {
            scope
                .strip_prefix("r-")
                .and_then(Id::parse)
                .map(Scope::Resource)
        }
    }
}

// ---------------------------------------------------------------- records

/// A domain of resources (*Salle informatique*).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    pub description: String,
}

impl Record for Domain {
    const KIND: &'static str = "domaine";
}

/// A resource one reserves (*Salle Multi 1*, a video projector).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resource {
    pub domain: Id,
    pub name: String,
    pub description: String,
}

/// Index of a domain's resources.
pub fn domain_index(domain: Id) -> String {
    format!("d:{domain}")
}

impl Record for Resource {
    const KIND: &'static str = "ressource";

    fn index_keys(&self) -> Vec<String> {
        vec![domain_index(self.domain)]
    }
}

/// Where a reservation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Waits for a moderator.
    Pending,
    /// Validated.
    Validated,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "en attente de validation",
            Status::Validated => "validée",
        }
    }
}

/// One reservation of a resource on one day (a periodic reservation is one record per
/// occurrence, sharing a `series` id).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reservation {
    pub resource: Id,
    pub day: Day,
    pub slot: Slot,
    pub object: String,
    pub author_id: String,
    pub author_name: String,
    pub status: Status,
    pub series: Option<Id>,
    pub created_at: i64,
}

/// Index of a resource's reservations on a day.
pub fn day_index(resource: Id, day: Day) -> String {
    format!("r:{resource}:{}", day.iso())
}

/// Index of an author's reservations.
pub fn author_index(user: &str) -> String {
    format!("a:{user}")
}

/// Index of a resource's reservations (any day).
pub fn resource_index(resource: Id) -> String {
    format!("res:{resource}")
}

/// Index of the reservations waiting for validation.
pub const PENDING_INDEX: &str = "attente";

impl Record for Reservation {
    const KIND: &'static str = "reservation";

    fn index_keys(&self) -> Vec<String> {
        let mut keys = vec![
            day_index(self.resource, self.day),
            author_index(&self.author_id),
            resource_index(self.resource),
        ];
        if self.status == Status::Pending {
            keys.push(PENDING_INDEX.to_string());
        }
        keys
    }
}

// ---------------------------------------------------------------- days and times

/// A calendar day of the establishment (local, no time zone). Stored as its day number
/// in records (`"day": 20522`) and as `AAAA-MM-JJ` in index keys ([`day_index`]).
pub type Day = Date;

/// Parses a typed day, `AAAA-MM-JJ` (what `<input type="date">` sends, spaces around
/// allowed), if it is a real date from 1970 on.
pub fn parse_day(text: &str) -> Option<Day> {
    Date::parse_iso(text.trim()).filter(|d| *d >= Date::EPOCH)
}

/// Parses `HH:MM` (what `<input type="time">` sends; `H:MM`, `10h`, `10h30` too) into
/// minutes since midnight; `24:00` is the end of the day.
pub fn parse_time(text: &str) -> Option<u16> {
    let text = text.trim().to_lowercase();
    let (h, m) = match text.split_once([':', 'h']) {
        Some((h, m)) => (h, if m.is_empty() { "00" } else { m }),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// A time range within one day, `start < end`, in minutes since midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: u16,
    pub end: u16,
}

impl Slot {
    /// Whether two ranges share at least a minute (touching ends do not overlap).
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn minutes(&self) -> u32 {
        u32::from(self.end - self.start)
    }

    /// « 10 h – 11 h 30 ».
    pub fn french(&self) -> String {
        format!(
            "{} – {}",
            time::french_hours(self.start.into()),
            time::french_hours(self.end.into())
        )
    }
}

// ---------------------------------------------------------------- the form

/// How often a reservation repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    None,
    Daily,
    Weekly,
    Fortnightly,
}

impl Repeat {
    pub fn parse(text: &str) -> Option<Repeat> {
        Some(match text {
            "" | "aucune" => Repeat::None,
            "quotidienne" => Repeat::Daily,
            "hebdomadaire" => Repeat::Weekly,
            "bimensuelle" => Repeat::Fortnightly,
            _ => return None,
        })
    }

    fn step(self) -> i32 {
        match self {
            Repeat::None => 0,
            Repeat::Daily => 1,
            Repeat::Weekly => 7,
            Repeat::Fortnightly => 14,
        }
    }
}

/// The days of a reservation repeated `repeat` from `first` until `until` (inclusive).
/// Daily repetition skips Saturdays and Sundays. Errors: `until` before `first`, or more
/// than [`MAX_OCCURRENCES`] occurrences.
pub fn occurrences(
    first: Day,
    repeat: Repeat,
    until: Option<Day>,
) -> std::result::Result<Vec<Day>, FieldError> {
    if repeat == Repeat::None {
        return Ok(vec![first]);
    }
    let Some(until) = until else {
        return Err(FieldError::new(
            "jusqu_au",
            "Indiquez jusqu'à quelle date la réservation se répète.",
        ));
    };
    if until < first {
        return Err(FieldError::new(
            "jusqu_au",
            "La fin de la répétition est avant le premier jour de la réservation.",
        ));
    }
    let mut days = Vec::new();
    let mut day = first;
    while day <= until {
        if repeat != Repeat::Daily || day.weekday() < 5 {
            days.push(day);
            if days.len() > MAX_OCCURRENCES {
                return Err(FieldError::new(
                    "jusqu_au",
                    &format!(
                        "Trop de répétitions : au plus {MAX_OCCURRENCES} occurrences par réservation périodique. Choisissez une date de fin plus proche."
                    ),
                ));
            }
        }
        day = day.add_days(repeat.step());
    }
    Ok(days)
}

/// A validated reservation form.
#[derive(Clone, Debug, PartialEq)]
pub struct Booking {
    pub days: Vec<Day>,
    pub slot: Slot,
    pub object: String,
}

/// Checks the reservation form's fields (`date`, `debut`, `fin`, `objet`, `repetition`,
/// `jusqu_au`); every problem is reported on its field, in French.
/// A day before `today` is refused.
pub fn check_booking(form: &Form, today: Day) -> std::result::Result<Booking, Vec<FieldError>> {
    let mut errors = Vec::new();
    let day = match form.text("date") {
        d if d.is_empty() => {
            errors.push(FieldError::new("date", "Indiquez la date de la réservation."));
            None
        }
        d => parse_day(&d).or_else(|| {
            errors.push(FieldError::new(
                "date",
                "La date n'est pas une date valide (format attendu : AAAA-MM-JJ, par exemple 2026-03-10).",
            ));
            None
        }),
    };
    let day = day.filter(|d| {
        let future = *d >= today;
        if !future {
            errors.push(FieldError::new(
                "date",
                &format!(
                    "La date est passée ({}) : choisissez aujourd'hui ou une date à venir.",
                    d.french()
                ),
            ));
        }
        future
    });
    let mut time = |field: &str, what: &str| {
        match form.text(field) {
        t if t.is_empty() => {
            errors.push(FieldError::new(field, &format!("Indiquez l'heure de {what}.")));
            None
        }
        t => parse_time(&t).or_else(|| {
            errors.push(FieldError::new(
                field,
                &format!("L'heure de {what} n'est pas une heure valide (format attendu : HH:MM, par exemple 10:30)."),
            ));
            None
        }),
    }
    };
    let start = time("debut", "début");
    let end = time("fin", "fin");
    let slot = match (start, end) {
        (Some(start), Some(end)) if end <= start => {
            errors.push(FieldError::new(
                "fin",
                "L'heure de fin doit être après l'heure de début.",
            ));
            None
        }
        (Some(start), Some(end)) => Some(Slot { start, end }),
        _ => None,
    };
    let object = form.text("objet");
    if object.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new(
            "objet",
            &format!("L'objet dépasse {MAX_TEXT_CHARS} caractères."),
        ));
    }
    let repeat = Repeat::parse(&form.text("repetition")).unwrap_or_else(|| {
        errors.push(FieldError::new(
            "repetition",
            "Choisissez une répétition dans la liste.",
        ));
        Repeat::None
    });
    let until = match form.text("jusqu_au") {
        u if u.is_empty() || repeat == Repeat::None => None,
        u => parse_day(&u).or_else(|| {
            errors.push(FieldError::new(
                "jusqu_au",
                "La date de fin de répétition n'est pas une date valide (format attendu : AAAA-MM-JJ).",
            ));
            None
        }),
    };
    let days = match day {
        Some(day) if errors.iter().all(|e| e.field != "jusqu_au") => {
            match occurrences(day, repeat, until) {
                Ok(days) => Some(days),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        }
        _ => None,
    };
    match (days, slot) {
        (Some(days), Some(slot)) if errors.is_empty() => Ok(Booking { days, slot, object }),
        _ => Err(errors),
    }
}

/// Checks a name field (domain, resource).
pub fn check_name(field: &str, name: &str) -> Option<FieldError> {
    if name.is_empty() {
        Some(FieldError::new(field, "Donnez un nom."))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(FieldError::new(
            field,
            &format!("Le nom dépasse {MAX_NAME_CHARS} caractères."),
        ))
    } else {
        None
    }
}

/// Checks a description field.
pub fn check_description(description: &str) -> Option<FieldError> {
    (description.chars().count() > MAX_TEXT_CHARS).then(|| {
        FieldError::new(
            "description",
            &format!("La description dépasse {MAX_TEXT_CHARS} caractères."),
        )
    })
}

// ---------------------------------------------------------------- conflicts

/// The days of `wanted` (one slot on several days) that overlap an existing reservation,
/// ignoring `except` (the reservation being modified). `existing` are (id, reservation)
/// of the same resource.
pub fn conflicts(
    days: &[Day],
    slot: &Slot,
    existing: &[(Id, Reservation)],
    except: Option<Id>,
) -> Vec<Day> {
    let mut found: Vec<Day> = days
        .iter()
        .copied()
        .filter(|day| {
            existing
                .iter()
                .any(|(id, r)| Some(*id) != except && r.day == *day && r.slot.overlaps(slot))
        })
        .collect();
    found.dedup();
    found
}

/// The French message of a refused reservation naming the conflicting dates.
pub fn conflict_message(days: &[Day]) -> String {
    let listed: Vec<String> = days.iter().take(10).map(|d| d.french()).collect();
    let more = if days.len() > 10 {
        format!(" (et {} autres)", days.len() - 10)
    } else {
        String::new()
    };
    if days.len() == 1 {
        format!(
            "Ce créneau est déjà réservé le {}{more} : choisissez un autre horaire.",
            listed[0]
        )
    } else {
        format!(
            "Ce créneau est déjà réservé à ces dates : {}{more}. Rien n'a été réservé : choisissez un autre horaire ou une autre période.",
            listed.join(", ")
        )
    }
}

// ---------------------------------------------------------------- thresholds

/// The period a threshold counts reservations over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
}

impl Period {
    /// `semaine` or `mois` (the configuration's values); anything else is a week.
    pub fn parse(text: &str) -> Period {
        if text == "mois" {
            Period::Month
        } else {
            Period::Week
        }
    }

    /// The first day of the period containing `day`.
    pub fn start(self, day: Day) -> Day {
        match self {
            Period::Week => day.monday(),
            Period::Month => day.first_of_month(),
        }
    }

    /// « semaine », « mois ».
    pub fn noun(self) -> &'static str {
        match self {
            Period::Week => "semaine",
            Period::Month => "mois",
        }
    }

    /// « semaine du lundi 6 mai 2030 », « mai 2030 », from the period's first day.
    pub fn label(self, start: Day) -> String {
        match self {
            Period::Week => format!("semaine du {}", start.french()),
            Period::Month => start.month_year(),
        }
    }
}

/// The per-user threshold of the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Most reservations per user and period (0 = no threshold).
    pub max: u32,
    pub period: Period,
    /// Passing it refuses the reservation (otherwise gestionnaires are only notified).
    pub blocking: bool,
}

/// What a new booking does to its author's threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThresholdCheck {
    /// Under the threshold (or none), or already reached before this booking.
    Fine,
    /// The booking makes the author reach the threshold in these periods (their first
    /// days): notify the gestionnaires.
    Reached(Vec<Day>),
    /// The threshold blocks and the booking would pass it: refused, naming the periods.
    Refused(Vec<Day>),
}

/// `existing` = the days of the author's current reservations (every resource);
/// `new` = the days of the booking.
pub fn check_threshold(threshold: Threshold, existing: &[Day], new: &[Day]) -> ThresholdCheck {
    if threshold.max == 0 {
        return ThresholdCheck::Fine;
    }
    let period = threshold.period;
    let max = threshold.max as usize;
    let mut starts: Vec<Day> = new.iter().map(|d| period.start(*d)).collect();
    starts.sort();
    starts.dedup();
    let count =
        |start: Day, days: &[Day]| days.iter().filter(|d| period.start(**d) == start).count();
    let mut over = Vec::new();
    let mut reached = Vec::new();
    for start in starts {
        let before = count(start, existing);
        let total = before + count(start, new);
        if total > max {
            over.push(start);
        }
        if before < max && total >= max {
            reached.push(start);
        }
    }
    if threshold.blocking && !over.is_empty() {
        ThresholdCheck::Refused(over)
    } else if reached.is_empty() {
        ThresholdCheck::Fine
    } else {
        ThresholdCheck::Reached(reached)
    }
}

// ---------------------------------------------------------------- the calendar grid

/// First hour row of the grid.
pub const GRID_FIRST_HOUR: u16 = 7;
/// Hour after the last row of the grid.
pub const GRID_END_HOUR: u16 = 20;

/// One reservation as the calendar shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Shown {
    pub id: String,
    pub time: String,
    pub author: String,
    pub object: String,
    pub status: String,
    pub pending: bool,
    pub url: String,
}

/// The grid of a week (or a single day): a column per day, a row per hour; a reservation
/// appears in each hour row it overlaps. Reservations outside the rows' hours appear in
/// the first or last row.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Grid {
    pub days: Vec<GridDay>,
    pub rows: Vec<GridRow>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GridDay {
    pub iso: String,
    pub label: String,
    pub short: String,
    pub today: bool,
    /// The day's reservations in order, once each: the list a phone shows
    /// instead of the hour rows.
    pub reservations: Vec<Shown>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GridRow {
    pub label: String,
    pub cells: Vec<Vec<Shown>>,
}

/// Builds the grid of `days` from reservations of the resource, `shown` turning one into
/// its display form.
pub fn grid(
    days: &[Day],
    today: Day,
    reservations: &[(Id, Reservation)],
    shown: impl Fn(Id, &Reservation) -> Shown,
) -> Grid {
    let mut sorted: Vec<&(Id, Reservation)> = reservations.iter().collect();
    sorted.sort_by_key(|(id, r)| (r.day, r.slot.start, *id));
    let rows = (GRID_FIRST_HOUR..GRID_END_HOUR)
        .map(|hour| {
            let row = Slot {
                start: if hour == GRID_FIRST_HOUR {
                    0
                } else {
                    hour * 60
                },
                end: if hour + 1 == GRID_END_HOUR {
                    24 * 60
                } else {
                    (hour + 1) * 60
                },
            };
            GridRow {
                label: format!("{hour} h"),
                cells: days
                    .iter()
                    .map(|day| {
                        sorted
                            .iter()
                            .filter(|(_, r)| r.day == *day && r.slot.overlaps(&row))
                            .map(|(id, r)| shown(*id, r))
                            .collect()
                    })
                    .collect(),
            }
        })
        .collect();
    Grid {
        days: days
            .iter()
            .map(|d| GridDay {
                iso: d.iso(),
                label: d.french(),
                short: d.french_short(),
                today: *d == today,
                reservations: sorted
                    .iter()
                    .filter(|(_, r)| r.day == *d)
                    .map(|(id, r)| shown(*id, r))
                    .collect(),
            })
            .collect(),
        rows,
    }
}

// ---------------------------------------------------------------- statistics

mod stats;
pub use stats::{bar_chart_svg, stats, svg_data_url};

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        parse_day(s).unwrap()
    }

    fn reservation(d: &str, start: &str, end: &str, author: &str) -> Reservation {
        Reservation {
            resource: Id(1),
            day: day(d),
            slot: Slot {
                start: parse_time(start).unwrap(),
                end: parse_time(end).unwrap(),
            },
            object: String::new(),
            author_id: author.into(),
            author_name: author.into(),
            status: Status::Validated,
            series: None,
            created_at: 0,
        }
    }

    fn form(fields: &[(&str, &str)]) -> Form {
        Form::new(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn typed_days_parse_from_1970_on() {
        assert_eq!(parse_day("1970-01-01"), Some(Date::EPOCH));
        assert_eq!(
            parse_day(" 2026-03-10 ").map(Day::iso).as_deref(),
            Some("2026-03-10")
        );
        assert!(parse_day("2028-02-29").is_some());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "10/03/2026",
            "demain",
            "2026-3-10",
            "1969-12-31",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn stored_days_keep_their_format() {
        // Records hold the day number, index keys the ISO date: both are stored data.
        let r = reservation("2026-03-10", "10:00", "11:00", "u1");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["day"], serde_json::json!(20522));
        let back: Reservation = serde_json::from_value(json).unwrap();
        assert_eq!(back.day, r.day);
        assert_eq!(
            r.index_keys()[0],
            "r:0000000000000001:2026-03-10",
            "day index key"
        );
    }

    #[test]
    fn times_parse_strictly() {
        assert_eq!(parse_time("10:30"), Some(630));
        assert_eq!(parse_time("8:05"), Some(485));
        assert_eq!(parse_time("10h"), Some(600));
        assert_eq!(parse_time("10h30"), Some(630));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in ["24:01", "10:60", "10", "midi", "1:5", "-1:00", "100:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(
            Slot {
                start: 600,
                end: 630
            }
            .french(),
            "10 h – 10 h 30"
        );
    }

    #[test]
    fn overlaps_exclude_touching_ends() {
        let s = |a: u16, b: u16| Slot { start: a, end: b };
        assert!(s(600, 660).overlaps(&s(630, 700)));
        assert!(s(600, 660).overlaps(&s(500, 700)));
        assert!(!s(600, 660).overlaps(&s(660, 720)));
        assert!(!s(600, 660).overlaps(&s(540, 600)));
    }

    #[test]
    fn periodic_reservations_expand_and_are_capped() {
        let weekly =
            occurrences(day("2026-03-10"), Repeat::Weekly, Some(day("2026-03-31"))).unwrap();
        let iso: Vec<String> = weekly.iter().map(|d| d.iso()).collect();
        assert_eq!(
            iso,
            ["2026-03-10", "2026-03-17", "2026-03-24", "2026-03-31"]
        );
        let fortnight = occurrences(
            day("2026-03-10"),
            Repeat::Fortnightly,
            Some(day("2026-04-06")),
        )
        .unwrap();
        assert_eq!(fortnight.len(), 2);
        // Daily skips the weekend: Fri 13 → Tue 17 = Fri, Mon, Tue.
        let daily = occurrences(day("2026-03-13"), Repeat::Daily, Some(day("2026-03-17"))).unwrap();
        assert_eq!(daily.len(), 3);
        assert_eq!(
            occurrences(day("2026-03-10"), Repeat::None, None)
                .unwrap()
                .len(),
            1
        );
        let e =
            occurrences(day("2026-03-10"), Repeat::Weekly, Some(day("2026-03-01"))).unwrap_err();
        assert_eq!(e.field, "jusqu_au");
        assert!(e.message.contains("avant"));
        // 60 weeks is fine, 61 is not.
        let first = day("2026-01-06");
        assert_eq!(
            occurrences(first, Repeat::Weekly, Some(first.add_days(59 * 7)))
                .unwrap()
                .len(),
            60
        );
        let e = occurrences(first, Repeat::Weekly, Some(first.add_days(60 * 7))).unwrap_err();
        assert!(e.message.contains("60"), "{}", e.message);
        assert!(occurrences(first, Repeat::Weekly, None).is_err());
    }

    #[test]
    fn the_form_names_every_bad_field() {
        let ok = check_booking(
            &form(&[
                ("date", "2026-03-10"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("objet", "TP tableur"),
                ("repetition", "hebdomadaire"),
                ("jusqu_au", "2026-03-24"),
            ]),
            day("2026-01-01"),
        )
        .unwrap();
        assert_eq!(ok.days.len(), 3);
        assert_eq!(
            ok.slot,
            Slot {
                start: 600,
                end: 660
            }
        );
        let fields = |f: &[(&str, &str)]| -> Vec<String> {
            check_booking(&form(f), day("2026-01-01"))
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(&[("date", "2026-03-10"), ("debut", "11:00"), ("fin", "10:00")]),
            ["fin"]
        );
        assert_eq!(
            fields(&[("date", "mardi"), ("debut", "10:00"), ("fin", "11:00")]),
            ["date"]
        );
        assert_eq!(
            fields(&[("debut", "25:00"), ("fin", "")]),
            ["date", "debut", "fin"]
        );
        assert_eq!(
            fields(&[
                ("date", "2026-03-10"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("repetition", "hebdomadaire"),
                ("jusqu_au", "2026-03-01")
            ]),
            ["jusqu_au"]
        );
        assert_eq!(
            fields(&[
                ("date", "2026-03-10"),
                ("debut", "10:00"),
                ("fin", "11:00"),
                ("repetition", "chaque lune"),
            ]),
            ["repetition"]
        );
        let past = check_booking(
            &form(&[("date", "2025-12-31"), ("debut", "10:00"), ("fin", "11:00")]),
            day("2026-01-01"),
        )
        .unwrap_err();
        assert_eq!(past.len(), 1);
        assert!(
            past[0]
                .message
                .starts_with("La date est passée (mercredi 31 décembre 2025)")
        );
        // No repetition: the end date is ignored.
        assert!(
            check_booking(
                &form(&[
                    ("date", "2026-03-10"),
                    ("debut", "10:00"),
                    ("fin", "11:00"),
                    ("repetition", "aucune"),
                    ("jusqu_au", "n'importe quoi")
                ]),
                day("2026-01-01")
            )
            .is_ok()
        );
    }

    #[test]
    fn conflicts_name_each_overlapping_day() {
        let existing = vec![
            (Id(1), reservation("2026-03-17", "10:30", "11:30", "a")),
            (Id(2), reservation("2026-03-24", "11:00", "12:00", "b")),
            (Id(3), reservation("2026-03-31", "09:00", "10:00", "c")),
        ];
        let slot = Slot {
            start: 600,
            end: 660,
        };
        let days = occurrences(day("2026-03-10"), Repeat::Weekly, Some(day("2026-03-31"))).unwrap();
        assert_eq!(
            conflicts(&days, &slot, &existing, None),
            vec![day("2026-03-17")]
        );
        assert!(conflicts(&days, &slot, &existing, Some(Id(1))).is_empty());
        let message = conflict_message(&[day("2026-03-17"), day("2026-03-24")]);
        assert!(
            message.contains("mardi 17 mars 2026, mardi 24 mars 2026"),
            "{message}"
        );
        assert!(conflict_message(&[day("2026-03-17")]).contains("le mardi 17 mars 2026"));
    }

    #[test]
    fn thresholds_notify_or_block() {
        let t = |max, blocking| Threshold {
            max,
            period: Period::Week,
            blocking,
        };
        let existing = [day("2026-03-09"), day("2026-03-10")];
        let new = [day("2026-03-12")];
        assert_eq!(
            check_threshold(t(0, true), &existing, &new),
            ThresholdCheck::Fine
        );
        assert_eq!(
            check_threshold(t(5, true), &existing, &new),
            ThresholdCheck::Fine
        );
        assert_eq!(
            check_threshold(t(3, true), &existing, &new),
            ThresholdCheck::Reached(vec![day("2026-03-09")])
        );
        assert_eq!(
            check_threshold(t(2, true), &existing, &new),
            ThresholdCheck::Refused(vec![day("2026-03-09")])
        );
        // Already reached before: no second notification.
        assert_eq!(
            check_threshold(t(2, false), &existing, &new),
            ThresholdCheck::Fine
        );
        assert_eq!(
            check_threshold(t(2, false), &existing[..1], &new),
            ThresholdCheck::Reached(vec![day("2026-03-09")])
        );
        // Another week is counted apart.
        assert_eq!(
            check_threshold(t(2, true), &existing, &[day("2026-03-16")]),
            ThresholdCheck::Fine
        );
        // Per month: the three March days count together, April apart.
        let month = Threshold {
            max: 3,
            period: Period::Month,
            blocking: true,
        };
        assert_eq!(
            check_threshold(month, &existing, &[day("2026-03-30"), day("2026-04-01")]),
            ThresholdCheck::Reached(vec![day("2026-03-01")])
        );
        assert_eq!(
            check_threshold(month, &existing, &[day("2026-03-30"), day("2026-03-31")]),
            ThresholdCheck::Refused(vec![day("2026-03-01")])
        );
        assert_eq!(Period::Month.label(day("2026-03-01")), "mars 2026");
        assert_eq!(Period::parse("mois"), Period::Month);
        assert_eq!(Period::parse("semaine"), Period::Week);
    }

    #[test]
    fn the_grid_places_reservations_in_each_hour_they_cover() {
        let monday = day("2026-03-09");
        let days: Vec<Day> = (0..7).map(|i| monday.add_days(i)).collect();
        let reservations = vec![
            (Id(1), reservation("2026-03-10", "10:00", "11:30", "Jean")),
            (Id(2), reservation("2026-03-12", "06:00", "06:30", "Marie")),
        ];
        let g = grid(&days, day("2026-03-10"), &reservations, |id, r| Shown {
            id: id.to_string(),
            time: r.slot.french(),
            author: r.author_name.clone(),
            object: String::new(),
            status: r.status.label().into(),
            pending: false,
            url: String::new(),
        });
        assert_eq!(g.days.len(), 7);
        assert!(g.days[1].today && !g.days[0].today);
        assert_eq!(g.rows.len(), (GRID_END_HOUR - GRID_FIRST_HOUR) as usize);
        let at = |hour: u16, d: usize| g.rows[(hour - GRID_FIRST_HOUR) as usize].cells[d].len();
        assert_eq!(at(10, 1), 1);
        assert_eq!(at(11, 1), 1);
        assert_eq!(at(9, 1), 0);
        assert_eq!(at(12, 1), 0);
        assert_eq!(at(7, 3), 1, "before the first row: shown in it");
        assert_eq!(g.rows[3].cells[1][0].author, "Jean");
        // The phone's list: each reservation once, under its day.
        let per_day: Vec<usize> = g.days.iter().map(|d| d.reservations.len()).collect();
        assert_eq!(per_day, [0, 1, 0, 1, 0, 0, 0]);
        assert_eq!(g.days[1].reservations[0].author, "Jean");
    }

    #[test]
    fn statistics_sum_per_user_and_per_bucket() {
        let all = vec![
            reservation("2026-03-10", "10:00", "11:00", "Jean"),
            reservation("2026-03-11", "10:00", "12:30", "Marie"),
            reservation("2026-03-17", "08:00", "09:00", "Jean"),
            reservation("2026-04-01", "08:00", "09:00", "Jean"),
        ];
        let from = day("2026-03-01");
        let to = from.first_of_month().add_months(1);
        let buckets = vec![
            ("9/3".to_string(), day("2026-03-09")),
            ("16/3".to_string(), day("2026-03-16")),
        ];
        let s = stats(&all, from, to, &buckets);
        assert_eq!(s.count, 3);
        assert_eq!(s.hours, "4 h 30");
        assert_eq!(s.by_user[0].name, "Marie");
        assert_eq!(s.by_user[0].hours, "2 h 30");
        assert_eq!(s.by_user[1].count, 2);
        assert_eq!(s.bars, vec![("9/3".into(), 210), ("16/3".into(), 60)]);
    }

    #[test]
    fn the_chart_is_accessible_svg() {
        let svg = bar_chart_svg(
            "Heures <réservées>",
            &[("lun.".into(), 90), ("mar.".into(), 0)],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"t\">Heures &lt;réservées&gt;</title>"));
        assert!(svg.contains("lun. : 1 h 30"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let url = svg_data_url(&svg);
        assert!(url.starts_with("data:image/svg+xml"));
        assert!(!url.contains('<') && !url.contains('"') && !url.contains(' '));
    }

    #[test]
    fn roles_give_the_manuals_rights() {
        let a = |r: &str| Access::from_roles(&[r.to_string()]);
        assert_eq!(
            a(VISITEUR),
            Access {
                read: true,
                ..Access::default()
            }
        );
        assert!(a(REDACTEUR).book && !a(REDACTEUR).publish);
        assert!(a(REDACTEUR_EN_LIGNE).publish && !a(REDACTEUR_EN_LIGNE).moderate);
        assert!(a(MODERATEUR).moderate && !a(MODERATEUR).manage);
        assert!(a(GESTIONNAIRE).manage && a(GESTIONNAIRE).moderate);
        assert_eq!(Access::from_roles(&[]), Access::default());
        let mine = reservation("2026-03-10", "10:00", "11:00", "u1");
        assert!(a(REDACTEUR).may_edit(&mine, Some("u1")));
        assert!(!a(REDACTEUR_EN_LIGNE).may_edit(&mine, Some("u2")));
        assert!(!a(VISITEUR).may_edit(&mine, Some("u1")));
        assert!(a(MODERATEUR).may_edit(&mine, Some("u2")));
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(
            Scope::parse("d-0000000000000003"),
            Some(Scope::Domain(Id(3)))
        );
        assert_eq!(
            Scope::parse("r-000000000000000a"),
            Some(Scope::Resource(Id(10)))
        );
        assert_eq!(Scope::parse("x-0000000000000003"), None);
        assert_eq!(
            resource_chain(Id(10), Id(3)),
            ["r-000000000000000a", "d-0000000000000003"]
        );
    }
}
