//! The home page (domains and their resources, reservations to validate), domains,
//! and the « Paramètres » of a domain or a resource.

use super::*;

pub(crate) fn index(request: &Request, _: &Params) -> Result<Response> {
    index_page(request, &[], "", "")
}

pub(crate) fn index_page(
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
        Some(c) => my_reservations(&c.id, request.invocation().local_now())?
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

pub(crate) fn create_domain(request: &Request, _: &Params) -> Result<Response> {
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
pub(crate) fn to_validate(request: &Request, _: &Params) -> Result<Response> {
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

pub(crate) fn domain_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    domain_view(request, id, &domain, &[], "", "")
}

pub(crate) fn domain_view(
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

pub(crate) fn create_resource(request: &Request, params: &Params) -> Result<Response> {
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

/// Whether domain `id` still holds a resource (then it cannot be deleted).
fn has_resources(id: Id) -> bool {
    !Table::<Resource>::new()
        .scan_index_ids(&model::domain_index(id), None, 1, Order::OldestFirst)
        .is_empty()
}

/// GET /d/{id}/supprimer — the confirmation (a domain with resources cannot go: its settings say so).
pub(crate) fn confirm_delete_domain(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    if has_resources(id) {
        return Ok(Response::redirect(&format!("/d/{id}/parametres")));
    }
    let losses = vec![format!(
        "Le domaine « {} » (il ne contient plus aucune ressource) et ses droits d'accès.",
        domain.name
    )];
    calendar::confirm_page(
        request,
        &format!("Supprimer le domaine « {} » ?", domain.name),
        &losses,
        &format!("/d/{id}"),
        None,
        &domain.name,
    )
}

pub(crate) fn delete_domain(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    if has_resources(id) {
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
pub(crate) enum Object {
    Domain(Id, Domain),
    Resource(Id, Resource),
}

/// The settings page of a domain or resource (gestionnaires): name and description,
/// « Droits d'accès », deletion. With `errors`, the typed values are shown again.
pub(crate) fn settings_page(
    request: &Request,
    object: &Object,
    errors: &[FieldError],
) -> Result<Response> {
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

pub(crate) fn domain_settings(request: &Request, params: &Params) -> Result<Response> {
    let (id, domain) = load_domain(params)?;
    if !domain_access(id).manage {
        return Err(Error::Forbidden);
    }
    settings_page(request, &Object::Domain(id, domain), &[])
}

pub(crate) fn resource_settings(request: &Request, params: &Params) -> Result<Response> {
    let (id, resource) = load_resource(params)?;
    if !resource_access(id, &resource).manage {
        return Err(Error::Forbidden);
    }
    settings_page(request, &Object::Resource(id, resource), &[])
}

/// The checked name and description of a settings or creation form.
pub(crate) fn named(request: &Request) -> std::result::Result<(String, String), Vec<FieldError>> {
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

pub(crate) fn save_domain(request: &Request, params: &Params) -> Result<Response> {
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

pub(crate) fn save_resource(request: &Request, params: &Params) -> Result<Response> {
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
