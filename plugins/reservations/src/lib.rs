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
use preau_sdk::time;
use serde::Deserialize;
use serde_json::{Value, json};

mod model;

use model::{
    Access, Booking, Day, Domain, Period, Reservation, Resource, Scope, Shown, Slot, Status,
    Threshold, ThresholdCheck,
};

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
            .post("/d/{id}/supprimer", delete_domain)
            .get("/r/{id}", resource_page)
            .post("/r/{id}", reserve)
            .get("/r/{id}/parametres", resource_settings)
            .post("/r/{id}/parametres", save_resource)
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
        _params: &[(String, String)],
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        if name != "mes-reservations" {
            return Ok(None);
        }
        let Some(caller) = invocation.caller() else {
            return Ok(None);
        };
        let mut mine = my_reservations(&caller.id, time::local_now(now()))?;
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

    fn on_event(name: &str, _payload: &str, _invocation: &Invocation) -> Result<()> {
        if name == "demo" {
            seed_demo()?;
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Reservations);

// ---------------------------------------------------------------- helpers

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn id_param(params: &Params) -> Result<Id> {
    Id::parse(params.get("id")).ok_or(Error::NotFound)
}

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
    let id = id_param(params)?;
    let domain = Table::<Domain>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, domain))
}

fn load_resource(params: &Params) -> Result<(Id, Resource)> {
    let id = id_param(params)?;
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
fn my_reservations(user: &str, now: (Day, u16)) -> Result<Vec<(Id, Reservation, String)>> {
    let (today, minutes) = now;
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

// ---------------------------------------------------------------- index

fn index(request: &Request, _: &Params) -> Result<Response> {
    index_page(request, &[], "", "")
}

fn index_page(
    request: &Request,
    errors: &[FieldError],
    name: &str,
    description: &str,
) -> Result<Response> {
    let global = global_access(request);
    let resources = Table::<Resource>::new();
    let mut domains = Vec::new();
    let mut any = global.read;
    let mut moderates = global.moderate;
    for (did, domain) in Table::<Domain>::new().scan(None, 500, Order::OldestFirst)? {
        let mut items: Vec<Value> = Vec::new();
        for (rid, r) in
            resources.scan_index(&model::domain_index(did), None, 500, Order::OldestFirst)?
        {
            let access = resource_access(rid, &r);
            moderates |= access.moderate;
            if access.read {
                items.push(json!({ "name": r.name, "description": r.description,
                                   "url": request.url(&format!("/r/{rid}")) }));
            }
        }
        // A domain shows when one of its resources does, or when its own rights let
        // the caller read it (an empty domain, for its gestionnaires and readers).
        if items.is_empty() && !domain_access(did).read {
            continue;
        }
        any = true;
        domains.push(json!({
            "name": domain.name,
            "description": domain.description,
            "url": request.url(&format!("/d/{did}")),
            "resources": items,
        }));
    }
    if !any {
        return Err(Error::Forbidden);
    }
    let mine: Vec<Value> = match request.caller() {
        Some(c) => my_reservations(&c.id, time::local_now(now()))?
            .iter()
            .take(10)
            .map(|(id, r, n)| upcoming_view(request.invocation(), *id, r, n))
            .collect(),
        None => Vec::new(),
    };
    Ok(Response::page(
        "index.html",
        "Réservation de ressources",
        &json!({
            "domains": domains,
            "mine": mine,
            "can_manage": global.manage,
            "can_moderate": moderates,
            "pending_url": request.url("/a-valider"),
            "action_url": request.url("/domaines"),
            "errors": field_errors(errors),
            "values": { "nom": name, "description": description },
        }),
    )
    .with_status(status_code(errors, false)))
}

fn create_domain(request: &Request, _: &Params) -> Result<Response> {
    if !global_access(request).manage {
        return Err(Error::Forbidden);
    }
    let (name, description) = match named(request) {
        Ok(named) => named,
        Err(errors) => {
            let form = request.form();
            return index_page(
                request,
                &errors,
                &form.text("nom"),
                &form.text("description"),
            );
        }
    };
    let id = Table::<Domain>::new().insert(&Domain { name, description })?;
    Ok(Response::redirect(&format!("/d/{id}")))
}

/// The reservations waiting for validation that the caller may validate.
fn to_validate(request: &Request, _: &Params) -> Result<Response> {
    let resources = Table::<Resource>::new();
    let mut cache: Vec<(Id, Option<(Resource, Access)>)> = Vec::new();
    let mut items = Vec::new();
    let mut any = global_access(request).moderate;
    for (id, r) in Table::<Reservation>::new().scan_index(
        model::PENDING_INDEX,
        None,
        MAX_SCAN,
        Order::OldestFirst,
    )? {
        let entry = match cache.iter().find(|(rid, _)| *rid == r.resource) {
            Some((_, e)) => e.clone(),
            None => {
                let e = resources.get(r.resource)?.map(|res| {
                    let a = resource_access(r.resource, &res);
                    (res, a)
                });
                cache.push((r.resource, e.clone()));
                e
            }
        };
        let Some((resource, access)) = entry else {
            continue;
        };
        if !access.moderate {
            continue;
        }
        any = true;
        let mut view = upcoming_view(request.invocation(), id, &r, &resource.name);
        view["author"] = r.author_name.clone().into();
        items.push(view);
    }
    if !any {
        return Err(Error::Forbidden);
    }
    Ok(Response::page(
        "pending.html",
        "Réservations à valider",
        &json!({ "home_url": request.url("/"), "reservations": items }),
    ))
}

// ---------------------------------------------------------------- domains

fn domain_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    domain_view(request, id, &domain, &[], "", "")
}

fn domain_view(
    request: &Request,
    id: Id,
    domain: &Domain,
    errors: &[FieldError],
    name: &str,
    description: &str,
) -> Result<Response> {
    let access = domain_access(id);
    let resources: Vec<Value> = Table::<Resource>::new()
        .scan_index(&model::domain_index(id), None, 500, Order::OldestFirst)?
        .into_iter()
        .filter(|(rid, r)| access.manage || resource_access(*rid, r).read)
        .map(|(rid, r)| {
            json!({ "name": r.name, "description": r.description,
                    "url": request.url(&format!("/r/{rid}")) })
        })
        .collect();
    if !access.read && resources.is_empty() {
        return Err(Error::Forbidden);
    }
    Ok(Response::page(
        "domain.html",
        &domain.name,
        &json!({
            "home_url": request.url("/"),
            "domain": { "name": domain.name, "description": domain.description },
            "resources": resources,
            "can_manage": access.manage,
            "rights_url": request.invocation().rights_url(&model::domain_scope(id)),
            "settings_url": request.url(&format!("/d/{id}/parametres")),
            "action_url": request.url(&format!("/d/{id}")),
            "errors": field_errors(errors),
            "values": { "nom": name, "description": description },
        }),
    )
    .with_status(status_code(errors, false)))
}

fn create_resource(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    let (name, description) = match named(request) {
        Ok(named) => named,
        Err(errors) => {
            let form = request.form();
            let (name, description) = (form.text("nom"), form.text("description"));
            return domain_view(request, id, &domain, &errors, &name, &description);
        }
    };
    let rid = Table::<Resource>::new().insert(&Resource {
        domain: id,
        name,
        description,
    })?;
    Ok(Response::redirect(&format!("/r/{rid}")))
}

fn delete_domain(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    let has_resources = !Table::<Resource>::new()
        .scan_index_ids(&model::domain_index(id), None, 1, Order::OldestFirst)
        .is_empty();
    if has_resources {
        let error = FieldError::new(
            "supprimer",
            "Ce domaine contient encore des ressources : supprimez-les d'abord.",
        );
        return settings_page(request, &Object::Domain(id, domain), &[error]);
    }
    Table::<Domain>::new().delete(id)?;
    Ok(Response::redirect("/"))
}

// ---------------------------------------------------------------- settings (« Paramètres »)

/// A domain or a resource, for their settings page.
enum Object {
    Domain(Id, Domain),
    Resource(Id, Resource),
}

/// The settings page of a domain or resource (gestionnaires): name and description,
/// « Droits d'accès », deletion. With `errors`, the typed values are shown again.
fn settings_page(request: &Request, object: &Object, errors: &[FieldError]) -> Result<Response> {
    let (kind, name, description, base, scope, parent) = match object {
        Object::Domain(id, d) => (
            "domaine",
            &d.name,
            &d.description,
            format!("/d/{id}"),
            model::domain_scope(*id),
            None,
        ),
        Object::Resource(id, r) => (
            "ressource",
            &r.name,
            &r.description,
            format!("/r/{id}"),
            model::resource_scope(*id),
            Some(
                json!({ "name": domain_name(r.domain), "url": request.url(&format!("/d/{}", r.domain)) }),
            ),
        ),
    };
    let form = request.form();
    let typed = |field: &str, stored: &str| {
        if errors.iter().any(|e| e.field != "supprimer") {
            form.text(field)
        } else {
            stored.to_string()
        }
    };
    Ok(Response::page(
        "settings.html",
        &format!("Paramètres — {name}"),
        &json!({
            "home_url": request.url("/"),
            "kind": kind,
            "name": name,
            "parent": parent,
            "object_url": request.url(&base),
            "action_url": request.url(&format!("{base}/parametres")),
            "delete_url": request.url(&format!("{base}/supprimer")),
            "rights_url": request.invocation().rights_url(&scope),
            "errors": field_errors(errors),
            "values": { "nom": typed("nom", name), "description": typed("description", description) },
        }),
    )
    .with_status(status_code(errors, false)))
}

fn domain_settings(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    settings_page(request, &Object::Domain(id, domain), &[])
}

fn resource_settings(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    settings_page(request, &Object::Resource(id, resource), &[])
}

/// The checked name and description of a settings or creation form.
fn named(request: &Request) -> std::result::Result<(String, String), Vec<FieldError>> {
    let form = request.form();
    let (name, description) = (form.text("nom"), form.text("description"));
    let errors: Vec<FieldError> = model::check_name("nom", &name)
        .into_iter()
        .chain(model::check_description(&description))
        .collect();
    if errors.is_empty() {
        Ok((name, description))
    } else {
        Err(errors)
    }
}

fn save_domain(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    match named(request) {
        Ok((name, description)) => {
            domain.name = name;
            domain.description = description;
            Table::<Domain>::new().put(id, &domain)?;
            Ok(Response::redirect(&format!("/d/{id}")))
        }
        Err(errors) => settings_page(request, &Object::Domain(id, domain), &errors),
    }
}

fn save_resource(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    match named(request) {
        Ok((name, description)) => {
            resource.name = name;
            resource.description = description;
            Table::<Resource>::new().put(id, &resource)?;
            Ok(Response::redirect(&format!("/r/{id}")))
        }
        Err(errors) => settings_page(request, &Object::Resource(id, resource), &errors),
    }
}

// ---------------------------------------------------------------- resources and calendar

/// The week (or day) shown: `?date=AAAA-MM-JJ&vue=jour|semaine`.
fn shown_days(request: &Request, today: Day) -> (bool, Day, Vec<Day>) {
    let day_view = request.query("vue") == Some("jour");
    let date = request
        .query("date")
        .and_then(model::parse_day)
        .unwrap_or(today);
    if day_view {
        (true, date, vec![date])
    } else {
        let monday = date.monday();
        (false, monday, (0..7).map(|i| monday.add_days(i)).collect())
    }
}

fn resource_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    let access = resource_access(id, &resource);
    if !access.read {
        return Err(Error::Forbidden);
    }
    calendar(request, id, &resource, &access, &[], false)
}

fn calendar(
    request: &Request,
    id: Id,
    resource: &Resource,
    access: &Access,
    errors: &[FieldError],
    conflict: bool,
) -> Result<Response> {
    let (today, _) = time::local_now(now());
    let (day_view, start, days) = shown_days(request, today);
    let reservations = reservations_on(id, &days)?;
    let invocation = request.invocation();
    let grid = model::grid(&days, today, &reservations, |rid, r| Shown {
        id: rid.to_string(),
        time: r.slot.french(),
        author: r.author_name.clone(),
        object: r.object.clone(),
        status: r.status.label().to_string(),
        pending: r.status == Status::Pending,
        url: invocation.url(&format!("/reservation/{rid}")),
    });
    let base = format!("/r/{id}");
    let view = if day_view { "jour" } else { "semaine" };
    let step = if day_view { 1 } else { 7 };
    let nav = |day: Day, view: &str| request.url(&format!("{base}?vue={view}&date={}", day.iso()));
    let period = if day_view {
        start.french()
    } else {
        format!("semaine du {}", start.french())
    };
    let form = request.form();
    let typed = |name: &str, default: String| {
        if errors.is_empty() {
            default
        } else {
            form.text(name)
        }
    };
    let default_day = if days.contains(&today) || days[0] < today {
        today.max(days[0])
    } else {
        days[0]
    };
    Ok(Response::page(
        "resource.html",
        &resource.name,
        &json!({
            "home_url": request.url("/"),
            "domain": { "name": domain_name(resource.domain), "url": request.url(&format!("/d/{}", resource.domain)) },
            "resource": { "name": resource.name, "description": resource.description },
            "period": period,
            "day_view": day_view,
            "grid": grid,
            "prev_url": nav(start.add_days(-step), view),
            "next_url": nav(start.add_days(step), view),
            "today_url": nav(today, view),
            "week_url": nav(start, "semaine"),
            "day_url": nav(if day_view { start } else { default_day }, "jour"),
            "can_book": access.book,
            "needs_validation": access.book && !access.publish,
            "can_manage": access.manage,
            "can_moderate": access.moderate,
            "rights_url": invocation.rights_url(&model::resource_scope(id)),
            "stats_url": request.url(&format!("{base}/statistiques")),
            "settings_url": request.url(&format!("{base}/parametres")),
            "action_url": request.url(&base),
            "max_occurrences": model::MAX_OCCURRENCES,
            "errors": field_errors(errors),
            "values": {
                "date": typed("date", default_day.iso()),
                "debut": typed("debut", String::new()),
                "fin": typed("fin", String::new()),
                "objet": typed("objet", String::new()),
                "repetition": typed("repetition", "aucune".into()),
                "jusqu_au": typed("jusqu_au", String::new()),
            },
        }),
    )
    .with_status(status_code(errors, conflict)))
}

/// Why a reservation could not be written.
enum Refusal {
    Conflict(Vec<Day>),
    Busy,
    /// The reservation being modified was changed or deleted meanwhile.
    Changed,
}

/// Store key of a reservation record.
fn reservation_key(id: Id) -> String {
    format!("{}/{id}", <Reservation as Record>::KIND)
}

/// Writes `records` (new or modified reservations of `resource`) if none of them overlaps
/// another reservation, atomically against every concurrent writer of the same resource.
/// `modified`: the reservation being modified and its record as read, which the write
/// also requires unchanged (a refusal or a deletion meanwhile is not undone).
fn write_checked(
    resource: Id,
    records: &[(Id, Reservation)],
    modified: Option<(Id, &[u8])>,
) -> Result<std::result::Result<(), Refusal>> {
    let key = version_key(resource);
    let table = Table::<Reservation>::new();
    let days: Vec<Day> = records.iter().map(|(_, r)| r.day).collect();
    let except = modified.map(|(id, _)| id);
    let record_key = except.map(reservation_key);
    for _ in 0..RETRIES {
        if let (Some(record_key), Some((_, read))) = (&record_key, modified)
            && store::get_bytes(record_key).as_deref() != Some(read)
        {
            return Ok(Err(Refusal::Changed));
        }
        let version = store::get_bytes(&key);
        let existing = reservations_on(resource, &days)?;
        let mut conflicting: Vec<Day> = Vec::new();
        for (_, r) in records {
            conflicting.extend(model::conflicts(&[r.day], &r.slot, &existing, except));
        }
        if !conflicting.is_empty() {
            conflicting.sort();
            conflicting.dedup();
            return Ok(Err(Refusal::Conflict(conflicting)));
        }
        let mut writes = Vec::new();
        for (id, r) in records {
            writes.extend(table.put_writes(*id, r)?);
        }
        writes.push(Write::Put(key.clone(), bumped(version.as_deref())));
        let mut expected = vec![(key.as_str(), version.as_deref())];
        if let (Some(record_key), Some((_, read))) = (&record_key, modified) {
            expected.push((record_key.as_str(), Some(read)));
        }
        if store::batch_if(&expected, writes)? {
            return Ok(Ok(()));
        }
    }
    Ok(Err(Refusal::Busy))
}

fn refusal_errors(refusal: Refusal) -> (Vec<FieldError>, bool) {
    match refusal {
        Refusal::Conflict(days) => (
            vec![FieldError::new("date", &model::conflict_message(&days))],
            true,
        ),
        Refusal::Busy => (
            vec![FieldError::new(
                "date",
                "Trop de réservations simultanées sur cette ressource : réessayez dans un instant.",
            )],
            true,
        ),
        Refusal::Changed => (
            vec![FieldError::new(
                "date",
                "Cette réservation a été modifiée, validée ou supprimée entre-temps : rien n'a été enregistré. Rechargez la page.",
            )],
            true,
        ),
    }
}

/// The author's threshold (every resource, per period) for a booking of `days`, not
/// counting the reservation `except` (being modified): the threshold and the periods
/// it reaches, or the error refusing the booking when it blocks.
fn author_threshold(
    author: &str,
    days: &[Day],
    except: Option<Id>,
) -> Result<std::result::Result<(Threshold, Vec<Day>), FieldError>> {
    let settings: Settings = config()?;
    let threshold = Threshold {
        max: settings.seuil,
        period: Period::parse(&settings.seuil_periode),
        blocking: settings.seuil_bloquant,
    };
    if threshold.max == 0 || days.is_empty() {
        return Ok(Ok((threshold, Vec::new())));
    }
    let period = threshold.period;
    let first = days
        .iter()
        .map(|d| period.start(*d))
        .min()
        .expect("non vide");
    let existing: Vec<Day> = Table::<Reservation>::new()
        .scan_index(
            &model::author_index(author),
            None,
            MAX_SCAN,
            Order::NewestFirst,
        )?
        .into_iter()
        .filter(|(rid, _)| Some(*rid) != except)
        .map(|(_, r)| r.day)
        .filter(|d| *d >= first)
        .collect();
    Ok(match model::check_threshold(threshold, &existing, days) {
        ThresholdCheck::Fine => Ok((threshold, Vec::new())),
        ThresholdCheck::Reached(starts) => Ok((threshold, starts)),
        ThresholdCheck::Refused(starts) => Err(FieldError::new(
            "date",
            &format!(
                "Vous avez atteint le seuil de {} réservations par {} ({}). Rien n'a été réservé.",
                threshold.max,
                period.noun(),
                periods_text(period, &starts)
            ),
        )),
    })
}

fn periods_text(period: Period, starts: &[Day]) -> String {
    starts
        .iter()
        .map(|s| period.label(*s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells the gestionnaires of `chain` that `who` reached the threshold in `reached`.
fn notify_threshold(
    threshold: Threshold,
    reached: &[Day],
    chain: &[String],
    who: &str,
    doing: &str,
    link: &str,
) {
    if reached.is_empty() {
        return;
    }
    send(Notification {
        recipients: vec![Recipient::Role {
            role: model::GESTIONNAIRE.into(),
            scopes: chain.to_vec(),
        }],
        subject: format!("Seuil de réservations atteint : {who}"),
        body: format!(
            "{who} a atteint le seuil de {} réservations par {} ({}) {doing}.",
            threshold.max,
            threshold.period.noun(),
            periods_text(threshold.period, reached),
        ),
        link: link.to_string(),
    });
}

fn reserve(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    let access = resource_access(id, &resource);
    if !access.book {
        return Err(Error::Forbidden);
    }
    let caller = request.caller().ok_or(Error::Forbidden)?;
    let booking: Booking = match model::check_booking(request.form(), time::local_now(now()).0) {
        Ok(b) => b,
        Err(errors) => return calendar(request, id, &resource, &access, &errors, false),
    };
    let (threshold, reached) = match author_threshold(&caller.id, &booking.days, None)? {
        Ok(checked) => checked,
        Err(error) => return calendar(request, id, &resource, &access, &[error], false),
    };
    let status = if access.publish {
        Status::Validated
    } else {
        Status::Pending
    };
    let series = (booking.days.len() > 1).then(Id::next);
    let created_at = now();
    let records: Vec<(Id, Reservation)> = booking
        .days
        .iter()
        .map(|day| {
            (
                Id::next(),
                Reservation {
                    resource: id,
                    day: *day,
                    slot: booking.slot,
                    object: booking.object.clone(),
                    author_id: caller.id.clone(),
                    author_name: caller.display_name.clone(),
                    status,
                    series,
                    created_at,
                },
            )
        })
        .collect();
    if let Err(refusal) = write_checked(id, &records, None)? {
        let (errors, conflict) = refusal_errors(refusal);
        return calendar(request, id, &resource, &access, &errors, conflict);
    }
    let chain = model::resource_chain(id, resource.domain);
    let (first_id, first) = &records[0];
    let when = describe_when(&booking.days, &booking.slot);
    if status == Status::Pending {
        send(Notification {
            recipients: validators(&chain),
            subject: format!("Réservation à valider : {}", resource.name),
            body: format!(
                "{} demande à réserver {} {when}{}. Cette réservation attend votre validation.",
                caller.display_name,
                resource.name,
                object_suffix(&first.object)
            ),
            link: format!("/reservation/{first_id}"),
        });
    }
    notify_threshold(
        threshold,
        &reached,
        &chain,
        &caller.display_name,
        &format!("en réservant {} {when}", resource.name),
        &format!("/r/{id}?date={}", first.day.iso()),
    );
    Ok(Response::redirect(&format!(
        "/r/{id}?date={}",
        first.day.iso()
    )))
}

fn object_suffix(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" (« {object} »)")
    }
}

fn describe_when(days: &[Day], slot: &Slot) -> String {
    match days {
        [one] => format!("le {} de {}", one.french(), slot.french()),
        [first, .., last] => format!(
            "de {} chaque occurrence, du {} au {} ({} occurrences)",
            slot.french(),
            first.french(),
            last.french(),
            days.len()
        ),
        [] => String::new(),
    }
}

fn delete_resource(_request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    let table = Table::<Reservation>::new();
    for rid in table.scan_index_ids(
        &model::resource_index(id),
        None,
        MAX_SCAN,
        Order::OldestFirst,
    ) {
        table.delete(rid)?;
    }
    Table::<Resource>::new().delete(id)?;
    store::remove(&version_key(id))?;
    Ok(Response::redirect(&format!("/d/{}", resource.domain)))
}

// ---------------------------------------------------------------- statistics

fn statistics(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).moderate {
        return Err(Error::Forbidden);
    }
    let (today, _) = time::local_now(now());
    let date = request
        .query("date")
        .and_then(model::parse_day)
        .unwrap_or(today);
    let week = request.query("periode") == Some("semaine");
    let (from, to, buckets, label, prev, next) = if week {
        let monday = date.monday();
        let buckets: Vec<(String, Day)> = (0..7)
            .map(|i| (monday.add_days(i).french_short(), monday.add_days(i)))
            .collect();
        (
            monday,
            monday.add_days(7),
            buckets,
            format!("semaine du {}", monday.french()),
            monday.add_days(-7),
            monday.add_days(7),
        )
    } else {
        let start = date.first_of_month();
        let end = date.first_of_month().add_months(1);
        let mut buckets = vec![(format!("sem. du {}", start.day_month()), start)];
        let mut monday = start.monday().add_days(7);
        while monday < end {
            buckets.push((format!("sem. du {}", monday.day_month()), monday));
            monday = monday.add_days(7);
        }
        (
            start,
            end,
            buckets,
            start.month_year(),
            start.add_days(-1).first_of_month(),
            end,
        )
    };
    let all: Vec<Reservation> = Table::<Reservation>::new()
        .scan_index(
            &model::resource_index(id),
            None,
            MAX_SCAN,
            Order::OldestFirst,
        )?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.day >= from && r.day < to)
        .collect();
    let stats = model::stats(&all, from, to, &buckets);
    let title = format!("Heures réservées — {} — {label}", resource.name);
    let chart = model::svg_data_url(&model::bar_chart_svg(&title, &stats.bars));
    let periode = if week { "semaine" } else { "mois" };
    let link = |d: Day, p: &str| {
        request.url(&format!(
            "/r/{id}/statistiques?periode={p}&date={}",
            d.iso()
        ))
    };
    let bars: Vec<Value> = stats
        .bars
        .iter()
        .map(|(l, m)| json!({ "label": l, "hours": time::french_hours(*m) }))
        .collect();
    Ok(Response::page(
        "statistics.html",
        &format!("Statistiques — {}", resource.name),
        &json!({
            "home_url": request.url("/"),
            "resource_url": request.url(&format!("/r/{id}")),
            "resource": { "name": resource.name },
            "label": label,
            "week": week,
            "stats": stats,
            "bars": bars,
            "chart_url": chart,
            "chart_title": title,
            "prev_url": link(prev, periode),
            "next_url": link(next, periode),
            "week_url": link(from, "semaine"),
            "month_url": link(from, "mois"),
        }),
    ))
}

// ---------------------------------------------------------------- one reservation

struct Loaded {
    id: Id,
    reservation: Reservation,
    resource_id: Id,
    resource: Resource,
    access: Access,
}

fn load_reservation(params: &Params) -> Result<Loaded> {
    let id = id_param(params)?;
    let reservation = Table::<Reservation>::new()
        .get(id)?
        .ok_or(Error::NotFound)?;
    let resource = Table::<Resource>::new()
        .get(reservation.resource)?
        .ok_or(Error::NotFound)?;
    let access = resource_access(reservation.resource, &resource);
    if !access.read {
        return Err(Error::Forbidden);
    }
    Ok(Loaded {
        id,
        resource_id: reservation.resource,
        reservation,
        resource,
        access,
    })
}

fn reservation_page(request: &Request, params: &Params) -> Result<Response> {
    let loaded = load_reservation(params)?;
    reservation_view(request, &loaded, &[], false)
}

fn reservation_view(
    request: &Request,
    l: &Loaded,
    errors: &[FieldError],
    conflict: bool,
) -> Result<Response> {
    let r = &l.reservation;
    let user = request.caller().map(|c| c.id.as_str());
    let form = request.form();
    let typed = |name: &str, default: String| {
        if errors.is_empty() {
            default
        } else {
            form.text(name)
        }
    };
    let base = format!("/reservation/{}", l.id);
    let mine = user == Some(r.author_id.as_str());
    Ok(Response::page(
        "reservation.html",
        &format!("Réservation — {}", l.resource.name),
        &json!({
            "home_url": request.url("/"),
            "resource_url": request.url(&format!("/r/{}?date={}", l.resource_id, r.day.iso())),
            "resource": { "name": l.resource.name },
            "reservation": {
                "day": r.day.french(),
                "time": r.slot.french(),
                "author": r.author_name,
                "object": r.object,
                "status": r.status.label(),
                "pending": r.status == Status::Pending,
                "series": r.series.is_some(),
            },
            "can_edit": l.access.may_edit(r, user),
            "can_moderate": l.access.moderate,
            "edit_needs_validation": mine && !l.access.publish,
            "action_url": request.url(&base),
            "validate_url": request.url(&format!("{base}/valider")),
            "refuse_url": request.url(&format!("{base}/refuser")),
            "delete_url": request.url(&format!("{base}/supprimer")),
            "errors": field_errors(errors),
            "values": {
                "date": typed("date", r.day.iso()),
                "debut": typed("debut", time::hh_mm(r.slot.start.into())),
                "fin": typed("fin", time::hh_mm(r.slot.end.into())),
                "objet": typed("objet", r.object.clone()),
            },
        }),
    )
    .with_status(status_code(errors, conflict)))
}

fn modify(request: &Request, params: &Params) -> Result<Response> {
    let mut l = load_reservation(params)?;
    let caller = request.caller().ok_or(Error::Forbidden)?;
    // The record as read: the modification is written only if it is still this one.
    let read = store::get_bytes(&reservation_key(l.id)).ok_or(Error::NotFound)?;
    l.reservation = serde_json::from_slice(&read)?;
    if !l.access.may_edit(&l.reservation, Some(&caller.id)) {
        return Err(Error::Forbidden);
    }
    // One occurrence at a time: the form has no repetition.
    let booking = match model::check_booking(request.form(), time::local_now(now()).0) {
        Ok(b) => b,
        Err(errors) => return reservation_view(request, &l, &errors, false),
    };
    let mine = caller.id == l.reservation.author_id;
    let mut updated = l.reservation.clone();
    updated.day = booking.days[0];
    updated.slot = booking.slot;
    updated.object = booking.object;
    // Moving one's reservation to another period counts against the threshold there,
    // as a new booking would (a blocking threshold is not bypassed by a modification).
    let mut reached = (None, Vec::new());
    if mine {
        match author_threshold(&caller.id, &[updated.day], Some(l.id))? {
            Ok((threshold, starts)) => reached = (Some(threshold), starts),
            Err(error) => return reservation_view(request, &l, &[error], false),
        }
    }
    // The author's modification follows their role; a moderator's change of another's
    // reservation keeps its status.
    if mine {
        updated.status = if l.access.publish {
            Status::Validated
        } else {
            Status::Pending
        };
    }
    if let Err(refusal) = write_checked(
        l.resource_id,
        &[(l.id, updated.clone())],
        Some((l.id, &read)),
    )? {
        let (errors, conflict) = refusal_errors(refusal);
        return reservation_view(request, &l, &errors, conflict);
    }
    let chain = model::resource_chain(l.resource_id, l.resource.domain);
    if let (Some(threshold), starts) = &reached
        // Within the same period the count does not change: nothing newly reached.
        && threshold.period.start(updated.day) != threshold.period.start(l.reservation.day)
    {
        notify_threshold(
            *threshold,
            starts,
            &chain,
            &caller.display_name,
            &format!(
                "en déplaçant sa réservation de {} au {}",
                l.resource.name,
                updated.day.french()
            ),
            &format!("/reservation/{}", l.id),
        );
    }
    if updated.status == Status::Pending {
        send(Notification {
            recipients: validators(&chain),
            subject: format!("Réservation modifiée à valider : {}", l.resource.name),
            body: format!(
                "{} a modifié sa réservation de {} : {}{}. Elle attend votre validation.",
                caller.display_name,
                l.resource.name,
                describe_when(&[updated.day], &updated.slot),
                object_suffix(&updated.object)
            ),
            link: format!("/reservation/{}", l.id),
        });
    } else if !mine {
        send(Notification {
            recipients: vec![Recipient::User(updated.author_id.clone())],
            subject: format!("Votre réservation de {} a été modifiée", l.resource.name),
            body: format!(
                "{} a modifié votre réservation de {} : désormais {}.",
                caller.display_name,
                l.resource.name,
                describe_when(&[updated.day], &updated.slot)
            ),
            link: format!("/reservation/{}", l.id),
        });
    }
    Ok(Response::redirect(&format!("/reservation/{}", l.id)))
}

fn moderated(request: &Request, params: &Params) -> Result<(Loaded, String)> {
    let l = load_reservation(params)?;
    if !l.access.moderate {
        return Err(Error::Forbidden);
    }
    let name = request
        .caller()
        .map(|c| c.display_name.clone())
        .ok_or(Error::Forbidden)?;
    Ok((l, name))
}

/// The reservation and, when the form ticks `toute_la_serie`, the following occurrences
/// of its series (this one first) that `keep` selects.
fn with_series(
    request: &Request,
    l: &Loaded,
    keep: impl Fn(&Reservation) -> bool,
) -> Result<Vec<(Id, Reservation)>> {
    let mut chosen = vec![(l.id, l.reservation.clone())];
    if let Some(series) = l
        .reservation
        .series
        .filter(|_| request.form().checkbox("toute_la_serie"))
    {
        for (rid, other) in Table::<Reservation>::new().scan_index(
            &model::resource_index(l.resource_id),
            None,
            MAX_SCAN,
            Order::OldestFirst,
        )? {
            if rid != l.id
                && other.series == Some(series)
                && other.day >= l.reservation.day
                && keep(&other)
            {
                chosen.push((rid, other));
            }
        }
    }
    Ok(chosen)
}

/// « le mardi 5 mars 2030 de 10 h – 11 h », or the span of several occurrences.
fn describe_many(chosen: &[(Id, Reservation)]) -> String {
    let days: Vec<Day> = chosen.iter().map(|(_, r)| r.day).collect();
    describe_when(&days, &chosen[0].1.slot)
}

fn validate(request: &Request, params: &Params) -> Result<Response> {
    let (l, moderator) = moderated(request, params)?;
    let table = Table::<Reservation>::new();
    let mut chosen: Vec<(Id, Reservation)> = Vec::new();
    for (rid, _) in with_series(request, &l, |r| r.status == Status::Pending)? {
        // Validates the record as it is now, only if unchanged until written: a stale
        // copy would put back a slot its author has just left (and someone else taken).
        for _ in 0..RETRIES {
            let key = reservation_key(rid);
            let Some(read) = store::get_bytes(&key) else {
                break;
            };
            let mut r: Reservation = serde_json::from_slice(&read)?;
            if r.status != Status::Pending {
                break;
            }
            r.status = Status::Validated;
            if store::batch_if(&[(key.as_str(), Some(&read))], table.put_writes(rid, &r)?)? {
                chosen.push((rid, r));
                break;
            }
        }
    }
    if !chosen.is_empty() {
        send(Notification {
            recipients: vec![Recipient::User(l.reservation.author_id.clone())],
            subject: format!("Réservation validée : {}", l.resource.name),
            body: format!(
                "{moderator} a validé votre réservation de {} {}.",
                l.resource.name,
                describe_many(&chosen)
            ),
            link: format!("/reservation/{}", l.id),
        });
    }
    Ok(Response::redirect(&format!("/reservation/{}", l.id)))
}

fn refuse(request: &Request, params: &Params) -> Result<Response> {
    let (l, moderator) = moderated(request, params)?;
    let table = Table::<Reservation>::new();
    let chosen = with_series(request, &l, |r| r.status == Status::Pending)?;
    for (rid, _) in &chosen {
        table.delete(*rid)?;
    }
    let r = &l.reservation;
    let reason = request.form().text("motif");
    send(Notification {
        recipients: vec![Recipient::User(r.author_id.clone())],
        subject: format!("Réservation refusée : {}", l.resource.name),
        body: format!(
            "{moderator} a refusé votre réservation de {} {}.{}",
            l.resource.name,
            describe_many(&chosen),
            if reason.is_empty() {
                String::new()
            } else {
                format!(" Motif : {reason}")
            }
        ),
        link: format!("/r/{}?date={}", l.resource_id, r.day.iso()),
    });
    Ok(Response::redirect(&format!(
        "/r/{}?date={}",
        l.resource_id,
        r.day.iso()
    )))
}

fn delete_reservation(request: &Request, params: &Params) -> Result<Response> {
    let l = load_reservation(params)?;
    let caller = request.caller().ok_or(Error::Forbidden)?;
    if !l.access.may_edit(&l.reservation, Some(&caller.id)) {
        return Err(Error::Forbidden);
    }
    let table = Table::<Reservation>::new();
    let chosen = with_series(request, &l, |_| true)?;
    for (rid, _) in &chosen {
        table.delete(*rid)?;
    }
    let r = &l.reservation;
    if caller.id != r.author_id {
        send(Notification {
            recipients: vec![Recipient::User(r.author_id.clone())],
            subject: format!("Réservation supprimée : {}", l.resource.name),
            body: format!(
                "{} a supprimé votre réservation de {} {}.",
                caller.display_name,
                l.resource.name,
                describe_many(&chosen)
            ),
            link: format!("/r/{}", l.resource_id),
        });
    }
    Ok(Response::redirect(&format!(
        "/r/{}?date={}",
        l.resource_id,
        r.day.iso()
    )))
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
