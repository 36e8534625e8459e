//! An establishment's catalogue (`/admin/e/{uai}/services`): its own connectors, its placements of plugins and unlocked region connectors.

use super::*;

// ---------------------------------------------------------------- establishment catalogue

fn catalogue_page(
    app: &App,
    t: &Target,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups = app.directory.groups(uai)?;
    let region = services::region_catalogue(&app.directory)?;
    let local = services::establishment_catalogue(&app.directory, uai)?;
    let rows: Vec<Value> = services::resolve(&region, &local, &enabled_plugins(app, uai))
        .iter()
        .map(|s| service_row(uai, s, &groups))
        .collect();
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/services.html",
        "Les services",
        status_of(&errors),
        json!({
            "establishment": t.establishment_json(),
            "services": rows,
            "action_url": format!("/admin/e/{uai}/services"),
            "mine_url": format!("/e/{uai}/services"),
            "values": values,
            "errors": errors,
            "notice": notice,
            "scope": "own",
            "creating": true,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": groups_view(&groups),
        }),
    ))
}

pub(super) fn new_connector_values() -> Value {
    connector_values(&Connector {
        access: Access::default(),
        ..Default::default()
    })
}

/// GET /admin/e/{uai}/services
pub async fn catalogue(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    uri: Uri,
) -> WebResult {
    Ok(catalogue_page(
        &app,
        &t,
        new_connector_values(),
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/e/{uai}/services — adds one of the establishment's own connectors.
pub async fn create_connector(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let groups = app.directory.groups(&uai)?;
    let (connector, mut errors) = read_form(&form, Scope::Own, &groups, true);
    if !errors.contains_key("code") && code_taken(&app, &connector.code, Some(&uai))? {
        duplicate_code(&mut errors, &connector.code);
    }
    if !errors.is_empty() {
        let values = typed_values(&form, &connector);
        return Ok(catalogue_page(&app, &t, values, errors, None)?);
    }
    let mut local = services::establishment_catalogue(&app.directory, &uai)?;
    local.connectors.push(connector.clone());
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "création d'un service", &connector.code)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/services?ok=cree")).into_response())
}

/// A service of the establishment's catalogue by code, or a 404 page.
fn find_service(
    app: &App,
    t: &Target,
    code: &str,
) -> Result<(Service, RegionCatalogue, EstablishmentCatalogue), Response> {
    let uai = &t.establishment.uai;
    let loaded = services::region_catalogue(&app.directory).and_then(|region| {
        Ok((
            region,
            services::establishment_catalogue(&app.directory, uai)?,
        ))
    });
    let (region, local) =
        loaded.map_err(|e| crate::web::pages::AppError::from(e).into_response())?;
    let found = services::resolve(&region, &local, &enabled_plugins(app, uai))
        .into_iter()
        .find(|s| s.code == code);
    match found {
        Some(service) => Ok((service, region, local)),
        None => Err(error_page(
            app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::NOT_FOUND,
            "Service introuvable",
            "Aucun service de cet établissement ne porte ce code.",
        )),
    }
}

fn locked_page(app: &App, t: &Target) -> Response {
    error_page(
        app,
        &t.visitor,
        Some(&t.establishment),
        StatusCode::FORBIDDEN,
        "Verrouillé par la région",
        "Ce service est verrouillé par la région : l'établissement ne peut ni le désactiver ni changer son accès ou son ordre.",
    )
}

fn edit_page(
    app: &App,
    t: &Target,
    service: &Service,
    values: Value,
    errors: Errors,
    notice: Option<&str>,
) -> anyhow::Result<Response> {
    let uai = &t.establishment.uai;
    let groups = app.directory.groups(uai)?;
    let (scope, locked) = match service.origin {
        Origin::Establishment => ("own", false),
        Origin::Plugin | Origin::Region { locked: false } => ("placement", false),
        Origin::Region { locked: true } => ("placement", true),
    };
    let edit_url = format!("/admin/e/{uai}/services/{}", service.code);
    Ok(render(
        app,
        &t.visitor,
        Some(&t.establishment),
        "admin/service.html",
        &format!("Service — {}", service.label),
        status_of(&errors),
        json!({
            "establishment": t.establishment_json(),
            "service": service_row(uai, service, &groups),
            "url": service.url,
            "scope": scope,
            "locked": locked,
            "overridable": matches!(service.origin, Origin::Region { locked: false }),
            "creating": false,
            "action_url": edit_url,
            "delete_url": (service.origin == Origin::Establishment).then(|| format!("{edit_url}/supprimer")),
            "back_url": format!("/admin/e/{uai}/services"),
            "values": values,
            "errors": errors,
            "notice": notice,
            "categories": options(CATEGORIES),
            "sso_kinds": options(SSO_KINDS),
            "profiles": options(PROFILES),
            "groups": groups_view(&groups),
        }),
    ))
}

/// GET /admin/e/{uai}/services/{code}
pub async fn service_form(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((_, code)): Path<(String, String)>,
    uri: Uri,
) -> WebResult {
    let (service, _, local) = find_service(&app, &t, &code)?;
    let values = match service.origin {
        Origin::Establishment => local
            .connectors
            .iter()
            .find(|c| c.code == service.code)
            .map(connector_values)
            .unwrap_or(Value::Null),
        _ => placement_values(&Placement {
            active: service.active,
            order: service.order,
            category: service.category.clone(),
            anonymous: service.anonymous,
            access: service.access.clone(),
        }),
    };
    Ok(edit_page(
        &app,
        &t,
        &service,
        values,
        Errors::new(),
        notice(&uri),
    )?)
}

/// POST /admin/e/{uai}/services/{code} — the establishment's own connector:
/// every field but the code; a plugin or an unlocked region connector: its
/// placement (`action=reset` goes back to the region's); a locked one: 403.
pub async fn save_service(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, code)): Path<(String, String)>,
    CheckedForm(form): CheckedForm,
) -> WebResult {
    let (service, _, mut local) = find_service(&app, &t, &code)?;
    if service.origin == (Origin::Region { locked: true }) {
        return Ok(locked_page(&app, &t));
    }
    let back = format!("/admin/e/{uai}/services/{}", service.code);
    if field(&form, "action") == "reset" {
        if matches!(service.origin, Origin::Region { .. }) {
            local.region.remove(&service.code);
            services::put_establishment_catalogue(&app.directory, &uai, &local)?;
            app.directory.audit_in(
                &t.user,
                &uai,
                "rétablissement d'un service de la région",
                &service.code,
            )?;
        }
        return Ok(Redirect::to(&format!("{back}?ok=retabli")).into_response());
    }
    let groups = app.directory.groups(&uai)?;
    let scope = if service.origin == Origin::Establishment {
        Scope::Own
    } else {
        Scope::Placement
    };
    let (connector, errors) = read_form(&form, scope, &groups, false);
    if !errors.is_empty() {
        let mut values = typed_values(&form, &connector);
        values["code"] = json!(service.code);
        return Ok(edit_page(&app, &t, &service, values, errors, None)?);
    }
    match service.origin {
        Origin::Establishment => {
            if let Some(existing) = local.connectors.iter_mut().find(|c| c.code == service.code) {
                *existing = Connector {
                    code: service.code.clone(),
                    ..connector
                };
            }
        }
        Origin::Plugin | Origin::Region { .. } => {
            let placement = Placement {
                active: connector.active,
                order: connector.order,
                category: connector.category,
                anonymous: connector.anonymous,
                access: connector.access,
            };
            let map = if service.origin == Origin::Plugin {
                &mut local.plugins
            } else {
                &mut local.region
            };
            map.insert(service.code.clone(), placement);
        }
    }
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "modification d'un service", &service.code)?;
    Ok(Redirect::to(&format!("{back}?ok=enregistre")).into_response())
}

/// POST /admin/e/{uai}/services/{code}/supprimer — only the establishment's own connectors.
pub async fn delete_service(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path((uai, code)): Path<(String, String)>,
    CheckedForm(_): CheckedForm,
) -> WebResult {
    let (service, _, mut local) = find_service(&app, &t, &code)?;
    if service.origin != Origin::Establishment {
        return Ok(error_page(
            &app,
            &t.visitor,
            Some(&t.establishment),
            StatusCode::FORBIDDEN,
            "Suppression impossible",
            "Seuls les services créés par l'établissement peuvent être supprimés ici. Vous pouvez désactiver les autres.",
        ));
    }
    local.connectors.retain(|c| c.code != service.code);
    services::put_establishment_catalogue(&app.directory, &uai, &local)?;
    app.directory
        .audit_in(&t.user, &uai, "suppression d'un service", &service.code)?;
    Ok(Redirect::to(&format!("/admin/e/{uai}/services?ok=supprime")).into_response())
}
