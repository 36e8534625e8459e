//! Diffusions: a snapshot of a model diffused to an audience, its opening period,
//! the dashboard of diffusions, deletion.

use super::*;

pub(crate) fn diffuse(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    let form = request.form();
    let mut errors = Vec::new();
    if !model::has_questions(&model.contenu) {
        errors.push(FieldError::new(
            "public",
            "Ajoutez au moins une question avant de diffuser.",
        ));
    }
    let mut audience = Audience::default();
    match form.text("public").as_str() {
        "tous" => audience.tous = true,
        "etablissement" => {}
        "choix" => {
            audience.profils = form
                .all("profils")
                .into_iter()
                .filter(|p| PROFILES.iter().any(|(id, _)| id == p))
                .map(str::to_string)
                .collect();
            let known = group_names();
            audience.groupes = form
                .all("groupes")
                .into_iter()
                .filter(|g| known.iter().any(|(id, _)| id == g))
                .map(str::to_string)
                .collect();
            if audience.profils.is_empty() && audience.groupes.is_empty() {
                errors.push(FieldError::new(
                    "public",
                    "Choisissez au moins un profil ou un groupe.",
                ));
            }
        }
        _ => errors.push(FieldError::new(
            "public",
            "Choisissez à qui s'adresse le formulaire.",
        )),
    }
    let (ouverture, fermeture) = read_period(form, &mut errors);
    let mut contenu = model.contenu.clone();
    let titre = form.text("titre");
    if !titre.is_empty() {
        match model::check_title(&titre) {
            Some(e) => errors.push(FieldError::new("titre_diffusion", &e)),
            None => contenu.titre = titre,
        }
    }
    if !errors.is_empty() {
        let values: serde_json::Map<String, Value> = ["public", "ouverture", "fermeture", "titre"]
            .iter()
            .map(|k| (k.to_string(), Value::from(form.text(k))))
            .collect();
        return model_editor(request, id, &model, &errors, &values, 422);
    }
    let caller = request.caller().ok_or(Error::Forbidden)?;
    let did = Table::<Diffusion>::new().insert(&Diffusion {
        modele: id,
        modele_titre: model.contenu.titre.clone(),
        contenu,
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: now(),
        audience,
        ouverture,
        fermeture,
        anonyme: form.checkbox("anonyme"),
        plusieurs: form.checkbox("plusieurs"),
        montrer_score: form.checkbox("montrer_score"),
        sel: preau_sdk::random::token(),
        lieux: Vec::new(),
    })?;
    Ok(Response::redirect(&format!("/diffusions/{did}")))
}

/// The opening period of a diffusion form: both dates optional, checked.
pub(crate) fn read_period(
    form: &Form,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Option<String>) {
    let mut date = |name: &str| {
        let text = form.text(name);
        if text.is_empty() {
            None
        } else if preau_sdk::time::Date::parse_iso(&text).is_some() {
            Some(text)
        } else {
            errors.push(FieldError::new(
                name,
                &format!("« {text} » n'est pas une date valide (AAAA-MM-JJ)."),
            ));
            None
        }
    };
    let ouverture = date("ouverture");
    let fermeture = date("fermeture");
    if let (Some(f), Some(t)) = (&ouverture, &fermeture)
        && f > t
    {
        errors.push(FieldError::new(
            "fermeture",
            "La fermeture doit suivre l'ouverture.",
        ));
    }
    (ouverture, fermeture)
}

/// Changes the opening period of a running diffusion (its author only).
pub(crate) fn update_period(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut d) = managed_diffusion(request, params)?;
    if Some(d.auteur_id.as_str()) != caller_id(request.invocation()) {
        return Err(Error::Forbidden);
    }
    let mut errors = Vec::new();
    let (ouverture, fermeture) = read_period(request.form(), &mut errors);
    if !errors.is_empty() {
        return results_page(request, id, &d, &errors, 422);
    }
    d.ouverture = ouverture;
    d.fermeture = fermeture;
    let key = format!("{}/{id}", Diffusion::KIND);
    let current = store::get_bytes(&key).ok_or(Error::NotFound)?;
    // Conditioned on the record as read: a place recorded meanwhile is not lost.
    if !store::batch_if(
        &[(key.as_str(), Some(&current))],
        Table::<Diffusion>::new().put_writes(id, &d)?,
    )? {
        return Err(Error::Internal("diffusion modifiée entre-temps".into()));
    }
    Ok(Response::redirect(&format!("/diffusions/{id}")))
}

pub(crate) fn answer_count(id: Id) -> usize {
    Table::<Reponse>::new()
        .scan_index_ids(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst)
        .len()
}

pub(crate) fn services_text(d: &Diffusion) -> String {
    let mut names: Vec<&str> = Vec::new();
    for l in &d.lieux {
        if !names.contains(&l.service.as_str()) {
            names.push(&l.service);
        }
    }
    if names.is_empty() {
        "Page directe".into()
    } else {
        names.join(", ")
    }
}

pub(crate) fn dashboard(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    let manager = is_manager(invocation);
    if !is_designer(invocation) && !manager {
        return Err(Error::Forbidden);
    }
    let table = Table::<Diffusion>::new();
    let diffusions = if manager {
        table.scan(None, 1000, Order::NewestFirst)?
    } else {
        let me = caller_id(invocation).unwrap_or("");
        table.scan_index(&format!("auteur:{me}"), None, 1000, Order::NewestFirst)?
    };
    let models = Table::<Modele>::new();
    let rows: Vec<Value> = diffusions
        .iter()
        .map(|(id, d)| {
            let own_model = models
                .get(d.modele)
                .ok()
                .flatten()
                .filter(|m| Some(m.auteur_id.as_str()) == caller_id(invocation));
            json!({
                "created": d.cree_le,
                "service": services_text(d),
                "title": d.contenu.titre,
                "model": d.modele_titre,
                "model_url": own_model.map(|_| request.url(&format!("/modeles/{}", d.modele))),
                "author": d.auteur_nom,
                "responses": answer_count(*id),
                "url": request.url(&format!("/diffusions/{id}")),
                "csv_url": request.url(&format!("/diffusions/{id}/export")),
                // Its address, to paste in an article or a message (the form then
                // shows inside it); a link only for whoever may answer it (the
                // author may not be in its audience).
                "share_url": request.url(&format!("/d/{id}")),
                "may_answer": in_audience(d, invocation),
            })
        })
        .collect();
    Ok(Response::page(
        "dashboard.html",
        "Diffusions",
        &json!({ "rows": rows, "manager": manager, "home_url": request.url("/") }),
    ))
}

pub(crate) fn delete_diffusion(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    if Some(d.auteur_id.as_str()) != caller_id(request.invocation()) {
        return Err(Error::Forbidden);
    }
    let answers = Table::<Reponse>::new();
    for aid in answers.scan_index_ids(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst) {
        answers.delete(aid)?;
    }
    for (key, _) in store::scan_json::<Value>(&format!("deja/{id}/"), MAX_ANSWERS)? {
        store::remove(&key)?;
    }
    Table::<Diffusion>::new().delete(id)?;
    Ok(Response::redirect("/diffusions"))
}
