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
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::App;
use crate::directory::Establishment;
use crate::directory::identifiers::{self, IdentifierRow};
use crate::directory::search::{self, Query};
use crate::directory::{
    AccessWindow, GROUP_KINDS, Grants, Group, Membership, PROFILES, User, naming, now,
    password_policy,
};
use crate::instances::{Access, instance_access};
use crate::web::extract::{
    CheckedForm, EstablishmentAdmin, EstablishmentOf, Form, Target, all, field, field_error,
    groups_view, query_value,
};
use crate::web::pages::{AppError, internal_error_response};
use crate::web::pages::{WebResult, error_page, forbidden, render};
use crate::web::visitor::Visitor;

mod account;
mod audit;
mod delegations;
mod groups;
mod identifier_files;
mod people;
mod rights;
mod search_page;
mod windows;

pub use account::*;
pub use audit::*;
pub use delegations::*;
pub use groups::*;
pub use identifier_files::*;
pub use people::*;
pub use rights::*;
pub use search_page::*;
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

/// A French date (`28/11/2026`) of a Unix time, in Paris time (day precision).
fn date_fr(ts: i64) -> String {
    crate::theme::format_date_fr(ts)
        .split(" à ")
        .next()
        .unwrap_or("")
        .to_string()
}

/// Parses `AAAA-MM-JJ` (an `<input type=date>`) to Unix seconds at 00:00 Paris time.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d): (i64, u32, u32) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if parts.next().is_some()
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(1970..=9999).contains(&y)
    {
        return None;
    }
    let days = crate::theme::days_from_civil(y, m, d);
    let (yy, mm, dd) = crate::theme::civil_from_days(days);
    if (yy, mm, dd) != (y, m, d) {
        return None; // 31 février
    }
    // Midnight in Paris: 23:00 or 22:00 UTC the day before.
    let midnight_utc = days * 86_400;
    Some(midnight_utc - crate::theme::paris_offset(midnight_utc))
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
        assert!(parse_date("2026-09-01").is_some());
        assert!(parse_date("2026-02-31").is_none());
        assert!(parse_date("01/09/2026").is_none());
        assert!(parse_date("2026-09-02").unwrap() > parse_date("2026-09-01").unwrap());
    }
}
