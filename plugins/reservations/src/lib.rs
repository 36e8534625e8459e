//! Resource reservations (*Réservation de ressources*): domains of resources, resources,
//! a week/day calendar of availabilities, single and periodic reservations with conflict
//! detection, validation by moderators, a per-user weekly threshold, statistics of use.
//!
//! Rights: the five roles of the manual (see `plugin.toml`), resolved **per resource**
//! through the host's scoped rights: scope `r-<resource>` then `d-<domain>`, then the
//! plugin's own grants (`preau_sdk::rights::roles_in`). Every route checks them.
//!
//! Concurrency: each resource has a version key (`v/<resource>`). A reservation reads it,
//! checks conflicts, then writes its records and the bumped version in one
//! `store::batch_if` conditioned on the version read; a concurrent writer makes it retry,
//! and the retry sees the other reservation. So two people can never hold the same slot.
//!
//! Times are the establishment's local time, stored as typed: a day and minutes since
//! midnight (see `model`).

use preau_sdk::notify::{self, Notification, Recipient};
use preau_sdk::prelude::*;
use preau_sdk::store::{self, Write};
use preau_sdk::time::{self, LocalTime, now};
use serde::Deserialize;
use serde_json::{Value, json};

mod calendar;
mod domains;
mod model;
mod reservation;
mod statistics;

use calendar::*;
use domains::*;
use model::{
    Access, Booking, Day, Domain, Period, Reservation, Resource, Scope, Shown, Slot, Status,
    Threshold, ThresholdCheck,
};
use reservation::*;
use statistics::*;

/// Most reservations of one resource (or one author) read at once.
const MAX_SCAN: u32 = 5000;
/// Tries of an optimistic write before giving up.
const RETRIES: usize = 8;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Settings {
    seuil: u32,
    seuil_periode: String,
    seuil_bloquant: bool,
}

struct Reservations;

impl Plugin for Reservations {
    fn router() -> Router {
        Router::new()
            .get("/", index)
            .post("/domaines", create_domain)
            .get("/a-valider", to_validate)
            .get("/d/{id}", domain_page)
            .post("/d/{id}", create_resource)
            .get("/d/{id}/parametres", domain_settings)
            .post("/d/{id}/parametres", save_domain)
            .get("/d/{id}/supprimer", confirm_delete_domain)
            .post("/d/{id}/supprimer", delete_domain)
            .get("/r/{id}", resource_page)
            .post("/r/{id}", reserve)
            .get("/r/{id}/parametres", resource_settings)
            .post("/r/{id}/parametres", save_resource)
            .get("/r/{id}/supprimer", confirm_delete_resource)
            .post("/r/{id}/supprimer", delete_resource)
            .get("/r/{id}/statistiques", statistics)
            .get("/reservation/{id}", reservation_page)
            .post("/reservation/{id}", modify)
            .post("/reservation/{id}/valider", validate)
            .post("/reservation/{id}/refuser", refuse)
            .post("/reservation/{id}/supprimer", delete_reservation)
    }

    fn render_block(
        name: &str,
        _params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        if name != "mes-reservations" {
            return Ok(None);
        }
        let Some(caller) = invocation.caller() else {
            return Ok(None);
        };
        let mut mine = my_reservations(&caller.id, invocation.local_now())?;
        mine.truncate(5);
        let items: Vec<Value> = mine
            .iter()
            .map(|(id, r, name)| upcoming_view(invocation, *id, r, name))
            .collect();
        if items.is_empty() && !Access::from_roles(invocation.roles()).read {
            return Ok(None);
        }
        Fragment::new(
            "block.html",
            "Mes prochaines réservations",
            &json!({ "reservations": items }),
        )
        .map(|f| Some(f.with_more("/")))
    }

    fn describe_scope(scope: &str, _invocation: &Invocation) -> Option<ScopeDescription> {
        match Scope::parse(scope)? {
            Scope::Domain(id) => Table::<Domain>::new()
                .get(id)
                .ok()?
                .map(|d| ScopeDescription::new(d.name)),
            Scope::Resource(id) => {
                let resource = Table::<Resource>::new().get(id).ok()??;
                let domain = Table::<Domain>::new().get(resource.domain).ok()??;
                // A resource inherits its domain's rights: the domain's gestionnaires
                // may set the resource's.
                Some(
                    ScopeDescription::new(format!("{} › {}", domain.name, resource.name))
                        .within(model::domain_scope(resource.domain)),
                )
            }
        }
    }

    fn on_event(event: &Event, _invocation: &Invocation) -> Result<()> {
        if event.name() == "demo" {
            seed_demo()?;
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Reservations);

// ---------------------------------------------------------------- helpers

fn field_errors(errors: &[FieldError]) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    for e in errors {
        // The first message of a field wins.
        map.entry(e.field.clone())
            .or_insert_with(|| e.message.clone().into());
    }
    map
}

fn status_code(errors: &[FieldError], conflict: bool) -> u16 {
    if errors.is_empty() {
        200
    } else if conflict {
        409
    } else {
        422
    }
}

/// The caller's roles for a scope chain (most specific first).
fn roles_for(chain: &[String]) -> Vec<String> {
    let chain: Vec<&str> = chain.iter().map(String::as_str).collect();
    preau_sdk::rights::roles_in(&chain)
}

/// The caller's rights in the plugin as a whole (creating domains, the index).
fn global_access(request: &Request) -> Access {
    Access::from_roles(request.invocation().roles())
}

fn domain_access(domain: Id) -> Access {
    Access::from_roles(&roles_for(&[model::domain_scope(domain)]))
}

fn resource_access(id: Id, resource: &Resource) -> Access {
    Access::from_roles(&roles_for(&model::resource_chain(id, resource.domain)))
}

fn load_domain(params: &Params) -> Result<(Id, Domain)> {
    let id = params.id("id")?;
    let domain = Table::<Domain>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, domain))
}

fn load_resource(params: &Params) -> Result<(Id, Resource)> {
    let id = params.id("id")?;
    let resource = Table::<Resource>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, resource))
}

fn domain_name(id: Id) -> String {
    Table::<Domain>::new()
        .get(id)
        .ok()
        .flatten()
        .map(|d| d.name)
        .unwrap_or_default()
}

/// The reservations of a resource on some days.
fn reservations_on(resource: Id, days: &[Day]) -> Result<Vec<(Id, Reservation)>> {
    let table = Table::<Reservation>::new();
    let mut all = Vec::new();
    let mut seen: Vec<Day> = Vec::new();
    for day in days {
        if seen.contains(day) {
            continue;
        }
        seen.push(*day);
        all.extend(table.scan_index(
            &model::day_index(resource, *day),
            None,
            MAX_SCAN,
            Order::OldestFirst,
        )?);
    }
    Ok(all)
}

/// The caller's reservations not yet over at `now` (local day and minutes), soonest
/// first, with their resource's name.
fn my_reservations(user: &str, now: LocalTime) -> Result<Vec<(Id, Reservation, String)>> {
    let (today, minutes) = (now.date, now.minutes);
    let resources = Table::<Resource>::new();
    let mut mine: Vec<(Id, Reservation, String)> = Table::<Reservation>::new()
        .scan_index(
            &model::author_index(user),
            None,
            MAX_SCAN,
            Order::NewestFirst,
        )?
        .into_iter()
        .filter(|(_, r)| r.day > today || (r.day == today && r.slot.end > minutes))
        .map(|(id, r)| {
            let name = resources
                .get(r.resource)
                .ok()
                .flatten()
                .map(|res| res.name)
                .unwrap_or_default();
            (id, r, name)
        })
        .collect();
    mine.sort_by_key(|(id, r, _)| (r.day, r.slot.start, *id));
    Ok(mine)
}

fn upcoming_view(invocation: &Invocation, id: Id, r: &Reservation, resource: &str) -> Value {
    json!({
        "url": invocation.url(&format!("/reservation/{id}")),
        "resource": resource,
        "day": r.day.french(),
        "time": r.slot.french(),
        "object": r.object,
        "status": r.status.label(),
        "pending": r.status == Status::Pending,
    })
}

fn version_key(resource: Id) -> String {
    format!("v/{resource}")
}

fn bumped(version: Option<&[u8]>) -> Vec<u8> {
    let n: u64 = version
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (n + 1).to_string().into_bytes()
}

fn send(notification: Notification) {
    if let Err(e) = notify::send(&notification) {
        preau_sdk::log::warn(&format!("notification non envoyée : {e}"));
    }
}

/// Moderators and gestionnaires of a resource.
fn validators(chain: &[String]) -> Vec<Recipient> {
    [model::MODERATEUR, model::GESTIONNAIRE]
        .iter()
        .map(|role| Recipient::Role {
            role: role.to_string(),
            scopes: chain.to_vec(),
        })
        .collect()
}

// ---------------------------------------------------------------- demo

/// The manual's example: a domain « Salle informatique » with « Salle Multi 1 » and a
/// video projector.
fn seed_demo() -> Result<()> {
    let domains = Table::<Domain>::new();
    if !domains.scan(None, 1, Order::OldestFirst)?.is_empty() {
        return Ok(());
    }
    let domain = domains.insert(&Domain {
        name: "Salle informatique".into(),
        description: "Les salles et le matériel informatiques du collège.".into(),
    })?;
    let resources = Table::<Resource>::new();
    resources.insert(&Resource {
        domain,
        name: "Salle Multi 1".into(),
        description: "24 postes, vidéoprojecteur fixe ; bâtiment B, 1er étage.".into(),
    })?;
    resources.insert(&Resource {
        domain,
        name: "Vidéoprojecteur mobile".into(),
        description: "Sur chariot, avec enceintes ; à retirer à la vie scolaire.".into(),
    })?;
    Ok(())
}
