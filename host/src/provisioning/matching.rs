//! The one matching engine: which account is this person of an imported file?
//!
//! A timetable export (EDT, UDT, STS), a directory feed (AAF, SIECLE) and the
//! Pronote identifiers file all name people their own way; before anything is
//! written, each person of the file is matched to an account of the directory
//! or left for the administrator to decide. The rules, in order:
//! 1. a decision remembered for this establishment, source and person of the
//!    file (an earlier import, validated by hand or automatically) stands;
//! 2. an identifier both sides know and agree on (EDT's `IDPN` kept as the
//!    account's Pronote identifier, an INE, a SIECLE or AAF number) decides;
//! 3. otherwise each candidate gets a score out of 100 with its breakdown in
//!    French — last name, first name, birth date, profile —, and only a
//!    *unique* candidate at or above [`AUTOMATIC`] is matched without asking;
//!    homonyms (two candidates above it), a doubtful score or no candidate go
//!    to the manual step, where the breakdown helps the administrator choose.
//!
//! Pure: the candidates come from the directory and the remembered decisions
//! from the store; this module only weighs them.

use preau_text::Date;
use preau_text::fold::search_key;

/// Score from which a unique candidate is matched automatically.
pub const AUTOMATIC: i32 = 70;
/// Score under which a candidate is not even proposed.
pub const PROPOSED: i32 = 30;

/// A kind of identifier both a file and an account may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// EDT's and Pronote's own identifier (`IDPN`).
    Pronote,
    /// The pupil's national identifier (INE).
    Ine,
    /// SIECLE's pupil number (`ELEVE_ID`, EDT's `IDSconet`).
    Siecle,
    /// The academic directory's join key (`ENTPersonJointure`).
    Aaf,
}

impl IdKind {
    fn label(self) -> &'static str {
        match self {
            IdKind::Pronote => "identifiant Pronote/EDT",
            IdKind::Ine => "INE",
            IdKind::Siecle => "numéro SIECLE",
            IdKind::Aaf => "identifiant de l'annuaire académique",
        }
    }
}

/// The profiles the engine compares (the directory's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `eleve`.
    Pupil,
    /// `parent`.
    Parent,
    /// `enseignant`.
    Teacher,
    /// `personnel`.
    Staff,
}

impl Profile {
    /// The directory's profile code.
    pub fn code(self) -> &'static str {
        match self {
            Profile::Pupil => "eleve",
            Profile::Parent => "parent",
            Profile::Teacher => "enseignant",
            Profile::Staff => "personnel",
        }
    }

    /// The profile of a directory code.
    pub fn of_code(code: &str) -> Option<Profile> {
        [
            Profile::Pupil,
            Profile::Parent,
            Profile::Teacher,
            Profile::Staff,
        ]
        .into_iter()
        .find(|p| p.code() == code)
    }
}

/// A person as the file describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The file's stable key for this person (an `IDPN`, a SIECLE number, or
    /// names and birth date when the file has nothing better): what a decision
    /// is remembered under.
    pub key: String,
    /// Last name as written.
    pub last_name: String,
    /// First name as written.
    pub first_name: String,
    /// Birth date, if the file gives it.
    pub birth_date: Option<Date>,
    /// The profile the file implies (a `Professeur` is a teacher).
    pub profile: Profile,
    /// Identifiers the file gives.
    pub ids: Vec<(IdKind, String)>,
}

/// An account that may be this person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The account's id.
    pub id: String,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Birth date, if the directory knows it.
    pub birth_date: Option<Date>,
    /// Profiles the account holds in the establishment of the import (empty:
    /// found in the region, outside it).
    pub profiles: Vec<Profile>,
    /// Identifiers the account carries.
    pub ids: Vec<(IdKind, String)>,
}

/// One line of a score's breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Points (negative for what speaks against).
    pub points: i32,
    /// Why, in French (« même nom », « date de naissance différente : … »).
    pub reason: String,
}

/// A candidate's score and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// Out of 100 (clamped to 0–100).
    pub total: i32,
    /// The breakdown, in the order of the rules.
    pub parts: Vec<Part>,
}

impl Score {
    /// « nom identique (+40), prénom identique (+30) = 70 ».
    pub fn explained(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| match p.points {
                points if points < 0 => format!("{} (−{})", p.reason, -points),
                points => format!("{} (+{points})", p.reason),
            })
            .collect();
        format!("{} = {}", parts.join(", "), self.total)
    }
}

/// Why a person was matched to an account, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Matched without asking.
    Matched {
        /// The account.
        account: String,
        /// How: a remembered decision, a shared identifier or a score.
        because: Because,
    },
    /// Left to the administrator: the candidates worth showing, best first.
    Manual {
        /// Why it was not decided (« 2 homonymes », « aucun compte »…).
        why: String,
        /// Candidates at or above [`PROPOSED`], best first, with their scores.
        candidates: Vec<(Candidate, Score)>,
    },
}

/// How a match was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Because {
    /// A decision taken at an earlier import.
    Remembered,
    /// An identifier both sides carry (which one, its value).
    SameId(IdKind, String),
    /// The only candidate at or above [`AUTOMATIC`].
    Score(Score),
}

impl Because {
    /// In French, for the report.
    pub fn french(&self) -> String {
        match self {
            Because::Remembered => "décision mémorisée lors d'un import précédent".into(),
            Because::SameId(kind, value) => format!("même {} ({value})", kind.label()),
            Because::Score(score) => format!("seul compte assez proche : {}", score.explained()),
        }
    }
}

/// Weighs `candidate` as `incoming`.
pub fn score(incoming: &Incoming, candidate: &Candidate) -> Score {
    let mut parts = Vec::new();
    let mut part = |points: i32, reason: String| parts.push(Part { points, reason });
    let (file_last, account_last) = (
        search_key(&incoming.last_name),
        search_key(&candidate.last_name),
    );
    if file_last == account_last {
        part(40, "même nom".into());
    } else if squeezed(&file_last) == squeezed(&account_last) {
        part(
            35,
            format!("même nom, écrit autrement (« {} »)", candidate.last_name),
        );
    } else if shares_word(&file_last, &account_last) {
        part(
            20,
            format!("nom composé en partie commun (« {} »)", candidate.last_name),
        );
    }
    let (file_first, account_first) = (
        search_key(&incoming.first_name),
        search_key(&candidate.first_name),
    );
    if file_first == account_first && !file_first.is_empty() {
        part(30, "même prénom".into());
    } else if first_word(&file_first) == first_word(&account_first) && !file_first.is_empty() {
        part(
            15,
            format!("même premier prénom (« {} »)", candidate.first_name),
        );
    } else if !file_first.is_empty() && file_first.chars().next() == account_first.chars().next() {
        part(
            5,
            format!("même initiale du prénom (« {} »)", candidate.first_name),
        );
    } else if !file_first.is_empty() && !account_first.is_empty() {
        part(-30, format!("autre prénom (« {} »)", candidate.first_name));
    }
    match (incoming.birth_date, candidate.birth_date) {
        (Some(a), Some(b)) if a == b => part(30, "même date de naissance".into()),
        (Some(a), Some(b)) => part(
            -40,
            format!(
                "date de naissance différente ({} dans le fichier, {} dans l'annuaire)",
                a.french_numeric(),
                b.french_numeric()
            ),
        ),
        _ => {}
    }
    if candidate.profiles.is_empty() {
        part(-5, "compte d'un autre établissement".into());
    } else if !candidate.profiles.contains(&incoming.profile) {
        part(-30, "profil différent dans l'établissement".into());
    }
    let total = parts.iter().map(|p| p.points).sum::<i32>().clamp(0, 100);
    Score { total, parts }
}

/// Decides for `incoming` among `candidates`, given the account a previous
/// import remembered for it (if that account still exists among them).
pub fn decide(incoming: &Incoming, candidates: &[Candidate], remembered: Option<&str>) -> Decision {
    if let Some(account) = remembered.filter(|id| candidates.iter().any(|c| c.id == *id)) {
        return Decision::Matched {
            account: account.to_owned(),
            because: Because::Remembered,
        };
    }
    let sharing: Vec<(&Candidate, &(IdKind, String))> = candidates
        .iter()
        .filter_map(|c| {
            let shared = incoming.ids.iter().find(|id| c.ids.contains(id))?;
            Some((c, shared))
        })
        .collect();
    if let [(candidate, (kind, value))] = sharing.as_slice() {
        return Decision::Matched {
            account: candidate.id.clone(),
            because: Because::SameId(*kind, value.clone()),
        };
    }
    let mut scored: Vec<(Candidate, Score)> = candidates
        .iter()
        .map(|c| (c.clone(), score(incoming, c)))
        .filter(|(_, s)| s.total >= PROPOSED)
        .collect();
    scored.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.id.cmp(&b.0.id)));
    let above = scored.iter().filter(|(_, s)| s.total >= AUTOMATIC).count();
    let why = match (sharing.len(), above) {
        (2.., _) => format!("{} comptes portent le même identifiant", sharing.len()),
        (_, 1) => {
            let (candidate, score) = scored.swap_remove(0);
            return Decision::Matched {
                account: candidate.id,
                because: Because::Score(score),
            };
        }
        (_, 2..) => format!("{above} comptes aussi proches l'un que l'autre (homonymes ?)"),
        _ if scored.is_empty() => "aucun compte ressemblant dans l'annuaire".into(),
        _ => "aucun compte assez proche pour être choisi sans vous".into(),
    };
    Decision::Manual {
        why,
        candidates: scored,
    }
}

/// The name without spaces, hyphens or apostrophes (« Le Gall » = « LEGALL »).
fn squeezed(key: &str) -> String {
    key.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether two compound names share a word of three letters or more
/// (« Martin Lefevre » and « Martin »).
fn shares_word(a: &str, b: &str) -> bool {
    a.split(' ')
        .filter(|w| w.len() >= 3)
        .any(|w| b.split(' ').any(|v| v == w))
}

fn first_word(key: &str) -> &str {
    key.split(' ').next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
