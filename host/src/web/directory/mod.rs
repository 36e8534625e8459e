//! The directory's administration (annuaire): search, create and edit people,
//! groups, rights per plugin, access windows, identifiers files, audit log,
//! delegations and a teacher's pupils; and the self-service pages of every
//! signed-in person (`/compte`). One file per page family; the helpers they
//! share are here.
//!
//! Every handler checks rights server-side: the [`EstablishmentAdmin`]
//! extractor lets only the region administrator and the establishment's
//! administrators in, and a person is only reachable from an establishment
//! they belong to.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::App;
use crate::directory::Establishment;
use crate::directory::identifiers::{self, IdentifierRow};
use crate::directory::search::{self, Query};
use crate::directory::{
    AccessWindow, GROUP_KINDS, Grants, Group, Membership, PROFILES, User, naming, nomenclatures,
    now, password_policy,
};
use crate::instances::{Access, instance_access};
use crate::web::extract::{
    CheckedForm, EstablishmentAdmin, EstablishmentOf, Form, Target, all, field, field_error,
    groups_view, query_value,
};
use crate::web::pages::{AppError, internal_error_response};
use crate::web::pages::{WebResult, error_page, forbidden, render};
use crate::web::shown_once::{self, ShownSecret};
use crate::web::visitor::Visitor;
use preau_text::TimeZone;

mod account;
mod attachments;
mod audit;
mod delegations;
mod groups;
mod identifier_files;
mod membership;
mod my_groups;
mod people;
mod rights;
mod search_page;
mod storage;
mod windows;

pub use account::*;
pub use attachments::*;
pub use audit::*;
pub use delegations::*;
pub use groups::*;
pub use identifier_files::*;
pub use my_groups::*;
pub use people::*;
pub use rights::*;
pub use search_page::*;
pub use storage::{save_person_quota, save_storage, storage_page};
pub use windows::*;

fn profile_label(code: &str) -> &'static str {
    PROFILES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Inconnu")
}

fn profiles_view() -> Vec<Value> {
    PROFILES
        .iter()
        .map(|(code, label)| json!({ "code": code, "label": label }))
        .collect()
}

/// « 28 novembre 2026 » of a Unix time, in the establishment's local time.
fn date_fr(establishment: &Establishment, ts: i64) -> String {
    TimeZone::named_or_default(&establishment.time_zone).french_date(ts)
}

/// The Unix time of the start of an `AAAA-MM-JJ` day (a real day only) in the
/// establishment's local time.
fn parse_date(establishment: &Establishment, text: &str) -> Option<i64> {
    let day = preau_text::Date::parse_iso(text.trim())?;
    Some(TimeZone::named_or_default(&establishment.time_zone).start_of_day(day))
}

/// State of an account, as the directory shows it.
fn state_label(user: &User) -> &'static str {
    if user.blocked {
        "Bloqué"
    } else if user.last_login.is_none() {
        "Jamais connecté"
    } else {
        "Opérationnel"
    }
}

fn user_row(user: &User, uai: &str) -> Value {
    let membership = user.membership(uai);
    json!({
        "id": user.id,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "login": user.login,
        "profile": membership.map(|m| profile_label(&m.profile)).unwrap_or(""),
        "state": state_label(user),
        "url": format!("/admin/e/{uai}/annuaire/u/{}", user.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_validated() {
        let pilat: Establishment =
            serde_json::from_str(r#"{"uai": "0420003A", "name": "Collège du Pilat"}"#).unwrap();
        let parse = |text| parse_date(&pilat, text);
        assert!(parse("2026-09-01").is_some());
        assert!(parse("2026-02-31").is_none());
        assert!(parse("01/09/2026").is_none());
        assert!(parse("2026-09-02").unwrap() > parse("2026-09-01").unwrap());
        // Midnight in Paris (summer time: UTC+2), and in Réunion (UTC+4).
        assert_eq!(parse("2026-09-01"), Some(1_788_213_600));
        let reunion = Establishment {
            time_zone: "Indian/Reunion".into(),
            ..pilat.clone()
        };
        assert_eq!(parse_date(&reunion, "2026-09-01"), Some(1_788_206_400));
        assert_eq!(date_fr(&reunion, 1_788_206_400), "1er septembre 2026");
    }
}
