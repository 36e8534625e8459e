//! The five lists of the structure — periods, closures, créneaux, subjects,
//! rooms — through one set of handlers: the kind is the URL's segment after
//! `structure/`. Each list page has its table and an « Ajouter » form; each
//! item its edit page and its deletion, confirmed first.

use axum::extract::Path;
use preau_text::date::{french_hours, hh_mm};

use super::*;
use crate::structure::Item;
use crate::web::confirm::{self, Deletion};

/// How the administration shows one kind.
struct View {
    kind: Kind,
    slug: &'static str,
    /// Page title.
    title: &'static str,
    /// « la période », for sentences.
    the: &'static str,
    /// « Ajouter une période ».
    add: &'static str,
    /// (form field, label, input type, help), in the form's order.
    fields: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// Column headings after the name.
    columns: &'static [&'static str],
    /// What the page explains.
    lead: &'static str,
}

const DAY_HELP: &str = "AAAA-MM-JJ";

const VIEWS: [View; 5] = [
    View {
        kind: Kind::Period,
        slug: "periodes",
        title: "Année scolaire et périodes",
        the: "la période",
        add: "Ajouter une période",
        fields: &[
            ("nom", "Nom", "text", "Trimestre 1, Semestre 2…"),
            ("debut", "Premier jour", "date", DAY_HELP),
            ("fin", "Dernier jour", "date", DAY_HELP),
        ],
        columns: &["Premier jour", "Dernier jour"],
        lead: "Les trimestres ou semestres se suivent, sans se chevaucher, à l'intérieur de l'année scolaire.",
    },
    View {
        kind: Kind::Closure,
        slug: "fermetures",
        title: "Fermetures",
        the: "la fermeture",
        add: "Ajouter une fermeture",
        fields: &[
            (
                "nom",
                "Nom",
                "text",
                "Vacances de Noël, journée pédagogique…",
            ),
            ("debut", "Premier jour sans cours", "date", DAY_HELP),
            ("fin", "Dernier jour sans cours", "date", DAY_HELP),
        ],
        columns: &["Premier jour", "Dernier jour", "Jours"],
        lead: "Vacances, jours fériés et fermetures de l'établissement : aucune séance n'a lieu ces jours-là.",
    },
    View {
        kind: Kind::Slot,
        slug: "creneaux",
        title: "Créneaux",
        the: "le créneau",
        add: "Ajouter un créneau",
        fields: &[
            ("nom", "Nom", "text", "M1, M2, S1…"),
            ("debut", "Début", "time", "HH:MM, heure locale"),
            ("fin", "Fin", "time", "HH:MM, heure locale"),
        ],
        columns: &["Début", "Fin", "Durée"],
        lead: "La grille horaire de l'établissement, en heure locale. Les récréations et la pause de midi ne sont pas des créneaux : laissez-les entre deux créneaux.",
    },
    View {
        kind: Kind::Subject,
        slug: "matieres",
        title: "Matières",
        the: "la matière",
        add: "Ajouter une matière",
        fields: &[
            (
                "code",
                "Code",
                "text",
                "Code STS/BCN (030201) ou code court (FRANC)",
            ),
            ("libelle", "Libellé", "text", ""),
        ],
        columns: &["Code"],
        lead: "Les matières enseignées, avec leur code (celui de STS Web ou de la BCN de préférence : les imports d'emploi du temps s'y rapportent).",
    },
    View {
        kind: Kind::Room,
        slug: "salles",
        title: "Salles",
        the: "la salle",
        add: "Ajouter une salle",
        fields: &[
            ("nom", "Nom", "text", "Salle 12, CDI, Gymnase…"),
            (
                "capacite",
                "Capacité",
                "number",
                "Nombre de places, facultatif",
            ),
        ],
        columns: &["Capacité"],
        lead: "Les salles où ont lieu les cours.",
    },
];

/// The title of a « Vie scolaire » section (`periodes`…, `droits`), for the
/// generated breadcrumb.
pub fn section_title(slug: &str) -> Option<&'static str> {
    match slug {
        "droits" => Some("Droits d'accès"),
        slug => VIEWS.iter().find(|v| v.slug == slug).map(|v| v.title),
    }
}

/// The name of the item `id` of a section, for the generated breadcrumb.
pub fn item_name(app: &App, uai: &str, slug: &str, id: &str) -> Option<String> {
    let view = VIEWS.iter().find(|v| v.slug == slug)?;
    let structure = Structure::load(app.directory.store(), uai).ok()?;
    structure
        .item(view.kind, id)
        .map(|item| item.name().to_owned())
}

fn view_of(kind: Kind) -> &'static View {
    VIEWS
        .iter()
        .find(|v| v.kind == kind)
        .expect("une vue par sorte")
}

/// The kind of a `/admin/e/{uai}/structure/<slug>…` address (the router only
/// sends the five slugs here).
fn view_of_uri(uri: &Uri) -> &'static View {
    let slug = uri.path().split('/').nth(5).unwrap_or_default();
    VIEWS.iter().find(|v| v.slug == slug).unwrap_or(&VIEWS[0])
}

/// The form values of an item, as typed back into its fields.
fn values(item: &Item) -> Value {
    match item {
        Item::Period(p) => json!({ "nom": p.name, "debut": p.first.iso(), "fin": p.last.iso() }),
        Item::Closure(c) => json!({ "nom": c.name, "debut": c.first.iso(), "fin": c.last.iso() }),
        Item::Slot(s) => json!({ "nom": s.name, "debut": hh_mm(s.start), "fin": hh_mm(s.end) }),
        Item::Subject(s) => json!({ "code": s.code, "libelle": s.label }),
        Item::Room(r) => {
            json!({ "nom": r.name, "capacite": r.capacity.map(|c| c.to_string()).unwrap_or_default() })
        }
    }
}

/// The cells after the name, in [`View::columns`] order.
fn cells(item: &Item) -> Vec<String> {
    match item {
        Item::Period(p) => vec![p.first.french(), p.last.french()],
        Item::Closure(c) => vec![
            c.first.french(),
            c.last.french(),
            (c.last.days() - c.first.days() + 1).to_string(),
        ],
        Item::Slot(s) => vec![
            french_hours(s.start),
            french_hours(s.end),
            duration(s.end - s.start),
        ],
        Item::Subject(s) => vec![s.code.clone()],
        Item::Room(r) => vec![
            r.capacity
                .map(|c| c.to_string())
                .unwrap_or_else(|| "—".into()),
        ],
    }
}

/// « 55 min », « 1 h 30 ».
fn duration(minutes: u32) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        french_hours(minutes)
    }
}

/// What a deletion's page says of the item, after its name.
fn described(item: &Item) -> String {
    let days = |first: preau_text::Date, last: preau_text::Date| {
        format!(" (du {} au {})", first.french_long(), last.french_long())
    };
    match item {
        Item::Period(p) => days(p.first, p.last),
        Item::Closure(c) => days(c.first, c.last),
        Item::Slot(s) => format!(" ({} – {})", french_hours(s.start), french_hours(s.end)),
        Item::Subject(s) => format!(" (code {})", s.code),
        Item::Room(r) => r
            .capacity
            .map(|c| format!(" ({c} places)"))
            .unwrap_or_default(),
    }
}

/// The typed values of a submitted form, for the fields of `view`.
fn typed_values(view: &View, form: &Form) -> Value {
    let mut values = Map::new();
    for (name, ..) in view.fields {
        values.insert(name.to_string(), Value::String(field(form, name)));
    }
    Value::Object(values)
}

/// A list page: its table, the year form (periods), the calendar form
/// (closures) and the add form, with `add` = (typed values, errors) when an
/// addition was refused.
#[allow(clippy::too_many_arguments)]
fn render_list(
    app: &App,
    m: &Manager,
    view: &View,
    year_form: Option<Value>,
    calendar_form: Option<Value>,
    add: Option<(Value, Map<String, Value>)>,
    notice: Option<String>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let structure = Structure::load(app.directory.store(), m.uai())?;
    let base = format!("{}/{}", m.base(), view.slug);
    let rows: Vec<Value> = structure
        .items(view.kind)
        .iter()
        .map(|item| {
            let url = format!("{base}/{}", item.id());
            json!({ "name": item.name(), "cells": cells(item), "edit_url": url, "delete_url": format!("{url}/supprimer") })
        })
        .collect();
    let mut context = chrome(m, view.slug);
    let (add_values, add_errors) = add.unwrap_or_else(|| {
        // A new period starts the day after the last one ends.
        let next = match (view.kind, structure.periods.last(), &structure.year) {
            (Kind::Period, Some(last), _) => json!({ "debut": last.last.add_days(1).iso() }),
            (Kind::Period, None, Some(year)) => json!({ "debut": year.first.iso() }),
            _ => json!({}),
        };
        (next, Map::new())
    });
    let year = structure.year.as_ref();
    context["view"] = json!({
        "slug": view.slug, "title": view.title, "the": view.the, "add": view.add, "lead": view.lead,
        "columns": view.columns,
        "fields": view.fields.iter().map(|(name, label, kind, help)| json!({ "name": name, "label": label, "type": kind, "help": help })).collect::<Vec<_>>(),
    });
    context["rows"] = json!(rows);
    context["action_url"] = json!(base);
    context["values"] = add_values;
    context["errors"] = Value::Object(add_errors);
    context["notice"] = json!(notice);
    context["year"] = json!(year.map(
        |y| json!({ "label": y.label(), "first": y.first.french(), "last": y.last.french() })
    ));
    if view.kind == Kind::Period {
        // Without a year, the dates of the shipped calendar are proposed.
        let next_september = structure
            .year
            .is_none()
            .then(|| {
                calendar::years()
                    .into_iter()
                    .rev()
                    .find_map(|label| calendar::calendar(label, "A").ok())
            })
            .flatten();
        context["year_form"] = year_form.unwrap_or_else(|| json!({
            "debut": year.map(|y| y.first.iso()).or(next_september.as_ref().map(|c| c.first.iso())),
            "fin": year.map(|y| y.last.iso()).or(next_september.as_ref().map(|c| c.last.iso())),
            "errors": {},
        }));
        context["year_url"] = json!(format!("{}/annee", m.base()));
        context["gaps"] = json!(
            structure
                .period_gaps()
                .iter()
                .map(|(a, b)| if a == b {
                    format!("le {}", a.french_long())
                } else {
                    format!("du {} au {}", a.french_long(), b.french_long())
                })
                .collect::<Vec<_>>()
        );
    }
    if view.kind == Kind::Closure {
        let zone = structure.zone.clone().unwrap_or_default();
        context["calendar_form"] =
            calendar_form.unwrap_or_else(|| json!({ "zone": zone, "errors": {} }));
        context["calendar_url"] = json!(format!("{}/calendrier", m.base()));
        context["zones"] = json!(
            calendar::ZONES
                .iter()
                .map(|(code, label)| json!({ "code": code, "label": label }))
                .collect::<Vec<_>>()
        );
        context["calendar_button"] = json!(match structure.zone.as_deref() {
            Some(zone @ ("A" | "B" | "C")) => format!("Charger le calendrier de la zone {zone}"),
            _ => "Charger le calendrier de la zone".to_string(),
        });
        context["calendar_years"] = json!(calendar::years());
    }
    Ok(render(
        app,
        &m.visitor,
        Some(&m.establishment),
        "admin/structure_list.html",
        view.title,
        status,
        context,
    ))
}

/// A list page after a refused year or calendar form.
pub(super) fn list_page(
    app: &App,
    m: &Manager,
    kind: Kind,
    year_form: Option<Value>,
    calendar_form: Option<Value>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    render_list(
        app,
        m,
        view_of(kind),
        year_form,
        calendar_form,
        None,
        None,
        status,
    )
}

/// GET /admin/e/{uai}/structure/{periodes|fermetures|creneaux|matieres|salles}
pub async fn list(State(app): State<Arc<App>>, m: Manager, uri: Uri) -> WebResult {
    let view = view_of_uri(&uri);
    let notice = match (
        query_value(&uri, "ok").as_str(),
        query_value(&uri, "ajoutees"),
    ) {
        ("annee", _) => Some("Année scolaire enregistrée.".to_string()),
        ("ajout", _) => Some(format!("{} : ajout enregistré.", view.title)),
        ("modif", _) => Some("Modification enregistrée.".to_string()),
        ("suppression", _) => Some("Suppression effectuée.".to_string()),
        (_, added) if !added.is_empty() => Some(match added.as_str() {
            "0" => "Calendrier déjà chargé : aucune fermeture ajoutée.".to_string(),
            "1" => "Calendrier chargé : 1 fermeture ajoutée.".to_string(),
            n => format!("Calendrier chargé : {n} fermetures ajoutées."),
        }),
        _ => None,
    };
    Ok(render_list(
        &app,
        &m,
        view,
        None,
        None,
        None,
        notice,
        StatusCode::OK,
    )?)
}

/// POST …/{kind} — adds an item; the form again, with what was typed and the
/// errors, when it is refused.
pub async fn create(
    State(app): State<Arc<App>>,
    m: Manager,
    uri: Uri,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let view = view_of_uri(&uri);
    let store = app.directory.store();
    let refused = |errors: FieldErrors| -> WebResult {
        let add = (typed_values(view, &form), errors_map(&errors, ""));
        Ok(render_list(
            &app,
            &m,
            view,
            None,
            None,
            Some(add),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )?)
    };
    let item = match structure::parse_item(view.kind, &structure::new_id(store)?, &typed(&form)) {
        Ok(item) => item,
        Err(errors) => return refused(errors),
    };
    match structure::save_item(store, m.uai(), &item)? {
        Ok(()) => {
            m.audit(&app, &format!("ajout de {}", view.the), item.name())?;
            Ok(Redirect::to(&format!("{}/{}?ok=ajout", m.base(), view.slug)).into_response())
        }
        Err(Refused::Invalid(errors)) => refused(errors),
        Err(Refused::NotFound) => Ok(not_found(&app, &m)),
    }
}

fn not_found(app: &App, m: &Manager) -> Response {
    crate::web::pages::error_page(
        app,
        &m.visitor,
        Some(&m.establishment),
        StatusCode::NOT_FOUND,
        "Élément introuvable",
        "Cet élément n'existe pas ou plus dans la structure de l'établissement.",
    )
}

fn render_edit(
    app: &App,
    m: &Manager,
    view: &View,
    item: &Item,
    values: Value,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Response {
    let url = format!("{}/{}/{}", m.base(), view.slug, item.id());
    let mut context = chrome(m, view.slug);
    context["view"] = json!({
        "slug": view.slug, "title": view.title, "the": view.the,
        "fields": view.fields.iter().map(|(name, label, kind, help)| json!({ "name": name, "label": label, "type": kind, "help": help })).collect::<Vec<_>>(),
    });
    context["name"] = json!(item.name());
    context["values"] = values;
    context["errors"] = Value::Object(errors);
    context["action_url"] = json!(url);
    context["delete_url"] = json!(format!("{url}/supprimer"));
    context["list_url"] = json!(format!("{}/{}", m.base(), view.slug));
    let title = format!("Modifier {} « {} »", view.the, item.name());
    render(
        app,
        &m.visitor,
        Some(&m.establishment),
        "admin/structure_item.html",
        &title,
        status,
        context,
    )
}

/// GET …/{kind}/{id} — the item's form.
pub async fn edit(
    State(app): State<Arc<App>>,
    m: Manager,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
    let view = view_of_uri(&uri);
    let structure = Structure::load(app.directory.store(), m.uai())?;
    let Some(item) = structure.item(view.kind, &id) else {
        return Ok(not_found(&app, &m));
    };
    Ok(render_edit(
        &app,
        &m,
        view,
        &item,
        values(&item),
        Map::new(),
        StatusCode::OK,
    ))
}

/// POST …/{kind}/{id} — saves the item; the form again with the errors when refused.
pub async fn save(
    State(app): State<Arc<App>>,
    m: Manager,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let view = view_of_uri(&uri);
    let store = app.directory.store();
    let Some(existing) = Structure::load(store, m.uai())?.item(view.kind, &id) else {
        return Ok(not_found(&app, &m));
    };
    let errors = match structure::parse_item(view.kind, &id, &typed(&form)) {
        Ok(item) => match structure::save_item(store, m.uai(), &item)? {
            Ok(()) => {
                m.audit(&app, &format!("modification de {}", view.the), item.name())?;
                return Ok(
                    Redirect::to(&format!("{}/{}?ok=modif", m.base(), view.slug)).into_response(),
                );
            }
            Err(Refused::Invalid(errors)) => errors,
            Err(Refused::NotFound) => return Ok(not_found(&app, &m)),
        },
        Err(errors) => errors,
    };
    Ok(render_edit(
        &app,
        &m,
        view,
        &existing,
        typed_values(view, &form),
        errors_map(&errors, ""),
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

/// GET …/{kind}/{id}/supprimer — what the deletion loses; changes nothing.
pub async fn confirm_delete(
    State(app): State<Arc<App>>,
    m: Manager,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
    let view = view_of_uri(&uri);
    let Some(item) = Structure::load(app.directory.store(), m.uai())?.item(view.kind, &id) else {
        return Ok(not_found(&app, &m));
    };
    let url = format!("{}/{}/{id}", m.base(), view.slug);
    let losses = vec![
        format!(
            "{} « {} »{} disparaît de la structure de {}.",
            capitalized(view.the),
            item.name(),
            described(&item),
            m.establishment.name
        ),
        match view.kind {
            Kind::Closure => "Ces jours redeviennent des jours de classe.".to_string(),
            Kind::Period => "Ses dates ne seront plus couvertes par aucune période tant que vous n'en aurez pas créé une autre.".to_string(),
            _ => "Les emplois du temps qui s'y rapporteront devront être corrigés.".to_string(),
        },
    ];
    let deletion = Deletion {
        title: format!("Supprimer {} « {} » ?", view.the, item.name()),
        losses,
        button: "Supprimer",
        action_url: format!("{url}/supprimer"),
        cancel_url: url,
    };
    Ok(confirm::page(
        &app,
        &m.visitor,
        Some(&m.establishment),
        deletion,
    ))
}

/// POST …/{kind}/{id}/supprimer — deletes the item.
pub async fn delete(
    State(app): State<Arc<App>>,
    m: Manager,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let view = view_of_uri(&uri);
    let store = app.directory.store();
    let Some(item) = Structure::load(store, m.uai())?.item(view.kind, &id) else {
        return Ok(not_found(&app, &m));
    };
    match structure::delete_item(store, m.uai(), view.kind, &id)? {
        Ok(()) => {
            m.audit(&app, &format!("suppression de {}", view.the), item.name())?;
            Ok(Redirect::to(&format!("{}/{}?ok=suppression", m.base(), view.slug)).into_response())
        }
        Err(_) => Ok(not_found(&app, &m)),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
