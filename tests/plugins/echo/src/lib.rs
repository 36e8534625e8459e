//! The smallest useful plugin: one route answering a small page. Benchmarks
//! call it through wasmtime and natively to measure the dispatch overhead.
//! Its other routes probe the contract's imports for the host's tests.

use preau_sdk::notify::{Notification, Recipient};
use preau_sdk::prelude::*;
use preau_sdk::store::{self, Write};

/// The plugin (public so that benchmarks can run its handler natively).
pub struct Echo;

impl Plugin for Echo {
    fn router() -> Router {
        Router::new()
            .get("/", echo)
            .get("/fuseau", time_zone)
            .get("/roles/{scope}", roles)
            .post("/notifier", notify)
            .get("/notifier", notify_during_get)
            .get("/groupes", groups)
            .get("/structure", structure)
            .post("/compteur", count)
            .get("/compteur", counter)
    }

    fn describe_scope(scope: &str, _: &Invocation) -> Option<ScopeDescription> {
        // `objet-N`, and its parts `objet-N-M` (which inherit from `objet-N`).
        let rest = scope.strip_prefix("objet-")?;
        Some(match rest.split_once('-') {
            Some((n, m)) => ScopeDescription::new(format!("Objet n° {n}, partie {m}"))
                .within(format!("objet-{n}")),
            None => ScopeDescription::new(format!("Objet n° {rest}")),
        })
    }

    fn render_block(
        name: &str,
        params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        let param = |key: &str| params.get(key);
        if !invocation.has_role("utilisateur") {
            return Ok(None);
        }
        let count = || {
            store::get_bytes("compteur")
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_else(|| "0".into())
        };
        match name {
            "salut" => {
                let who = invocation.caller().map(|c| c.display_name.clone());
                return Ok(Some(Fragment::new(
                    "salut.html",
                    "Salut",
                    &serde_json::json!({
                        "who": who, "count": count(), "action": invocation.url("/compteur"),
                    }),
                )?));
            }
            "compte" => {
                return Ok(Some(Fragment::new(
                    "compte.html",
                    "Compteur",
                    &serde_json::json!({ "count": count() }),
                )?));
            }
            "objet" => {}
            _ => return Ok(None),
        }
        Ok(Some(Fragment::new(
            "objet.html",
            "Objet inséré",
            &serde_json::json!({
                "id": param("id"), "page": param("page"), "service": param("service"),
                "action": invocation.url("/compteur"),
            }),
        )?))
    }
}

preau_sdk::export_plugin!(Echo);

/// A small page naming the caller, with the establishment's time zone and local day.
pub fn echo(request: &Request, _: &Params) -> Result<Response> {
    let name = request
        .caller()
        .map(|c| c.display_name.as_str())
        .unwrap_or("visiteur");
    Ok(Response::page(
        "echo.html",
        "Écho",
        &serde_json::json!({ "message": format!("Bonjour {name}") }),
    ))
}

/// The establishment's time zone and local day, as the plugin receives them
/// (kept off `/`, whose work the dispatch benchmark measures).
fn time_zone(request: &Request, _: &Params) -> Result<Response> {
    Ok(Response::page(
        "echo.html",
        "Écho",
        &serde_json::json!({
            "message": "Fuseau horaire",
            "time_zone": request.invocation().time_zone_name(),
            "today": request.invocation().local_now().date.iso(),
        }),
    ))
}

/// The caller's roles for one object.
fn roles(_: &Request, params: &Params) -> Result<Response> {
    let scope = params.get("scope");
    Ok(Response::json(&preau_sdk::rights::roles_in(&[scope])))
}

/// Notifies the managers of an object and one person.
fn notify(request: &Request, _: &Params) -> Result<Response> {
    let form = request.form();
    let mut recipients = vec![Recipient::Role {
        role: "gestionnaire".into(),
        scopes: vec![form.text("scope")],
    }];
    if let Some(user) = form.get("user").filter(|u| !u.is_empty()) {
        recipients.push(Recipient::User(user.to_string()));
    }
    let sent = preau_sdk::notify::send(&Notification {
        recipients,
        subject: form.text("subject"),
        body: "Corps de la notification".into(),
        link: "/".into(),
    })?;
    Ok(Response::json(&sent))
}

/// Tries to notify the managers of `?scope=` while answering a GET (the host
/// refuses it: no GET changes state): what the host said.
fn notify_during_get(request: &Request, _: &Params) -> Result<Response> {
    let sent = preau_sdk::notify::send(&Notification {
        recipients: vec![Recipient::Role {
            role: "gestionnaire".into(),
            scopes: vec![request.query("scope").unwrap_or("").to_string()],
        }],
        subject: "Par une lecture".into(),
        body: String::new(),
        link: "/".into(),
    });
    Ok(Response::json(&match sent {
        Ok(n) => n.to_string(),
        Err(Error::Internal(message)) => message,
        Err(other) => format!("{other:?}"),
    }))
}

/// The establishment's groups.
fn groups(_: &Request, _: &Params) -> Result<Response> {
    let groups: Vec<String> = preau_sdk::directory::groups()
        .into_iter()
        .map(|g| format!("{}:{}", g.kind, g.name))
        .collect();
    Ok(Response::json(&groups))
}

/// The establishment's school structure, as the `structure` import gives it.
fn structure(_: &Request, _: &Params) -> Result<Response> {
    let s = preau_sdk::structure::current();
    let names = |list: &[preau_sdk::structure::NamedDays]| -> Vec<String> {
        list.iter()
            .map(|n| format!("{} {}..{}", n.name, n.days.first.iso(), n.days.last.iso()))
            .collect()
    };
    Ok(Response::json(&serde_json::json!({
        "annee": s.year_label,
        "debut": s.year.map(|y| y.first.iso()),
        "periodes": names(&s.periods),
        "fermetures": names(&s.closures),
        "creneaux": s.slots.iter().map(|c| format!("{} {}-{}", c.name, c.start, c.end)).collect::<Vec<_>>(),
        "matieres": s.subjects.iter().map(|m| format!("{} {}", m.code, m.label)).collect::<Vec<_>>(),
        "salles": s.rooms.len(),
    })))
}

/// Increments a counter with a conditional batch (retried until it applies).
fn count(_: &Request, _: &Params) -> Result<Response> {
    for _ in 0..100 {
        let current = store::get_bytes("compteur");
        let value: u64 = current
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
            .unwrap_or(0);
        let next = (value + 1).to_string().into_bytes();
        if store::batch_if(
            &[("compteur", current.as_deref())],
            vec![Write::Put("compteur".into(), next)],
        )? {
            return Ok(Response::json(&(value + 1)));
        }
    }
    Err(Error::Internal("compteur : trop de conflits".into()))
}

/// The counter's value.
fn counter(_: &Request, _: &Params) -> Result<Response> {
    let value = store::get_bytes("compteur")
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| "0".into());
    Ok(Response::json(&value))
}
