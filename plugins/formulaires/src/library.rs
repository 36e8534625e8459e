//! The designer's pages: the library of models (home page, JSON import and export,
//! the JSON Schema), the model and question editors, the preview, and the home
//! block « Formulaires à remplir ».

use super::*;

pub(crate) fn index(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    // Anyone with a role here (someone of another establishment has none).
    if invocation.roles().is_empty() {
        return Err(Error::Forbidden);
    }
    index_page(request, &[], &Default::default())
}

/// The caller's models, newest first, with the date of their last diffusion.
pub(crate) fn library(request: &Request) -> Result<Vec<Value>> {
    let invocation = request.invocation();
    let (true, Some(me)) = (is_designer(invocation), caller_id(invocation)) else {
        return Ok(Vec::new());
    };
    let mut last: BTreeMap<Id, i64> = BTreeMap::new();
    for (_, d) in Table::<Diffusion>::new().scan_index(
        &format!("auteur:{me}"),
        None,
        1000,
        Order::OldestFirst,
    )? {
        last.insert(d.modele, d.cree_le);
    }
    Ok(Table::<Modele>::new()
        .scan_index(&format!("auteur:{me}"), None, 500, Order::NewestFirst)?
        .into_iter()
        .map(|(id, m)| {
            json!({
                "title": m.contenu.titre,
                "genre": m.contenu.genre.label(),
                "questions": m.contenu.questions.iter().filter(|q| q.kind != Kind::Section).count(),
                "created": m.cree_le,
                "modified": m.modifie_le,
                "last_diffusion": last.get(&id),
                "url": request.url(&format!("/modeles/{id}")),
                "preview_url": request.url(&format!("/modeles/{id}/apercu")),
                "export_url": request.url(&format!("/modeles/{id}/export")),
            })
        })
        .collect())
}

pub(crate) fn index_page(
    request: &Request,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
) -> Result<Response> {
    let to_fill = to_fill(request.invocation(), 50)?;
    let designer = is_designer(request.invocation());
    let manager = is_manager(request.invocation());
    let models = library(request)?;
    let genres: Vec<Value> = Genre::ALL
        .iter()
        .map(|(_, id, label)| json!({ "id": id, "label": label }))
        .collect();
    Ok(Response::page(
        "index.html",
        "Formulaires",
        &json!({
            "to_fill": to_fill,
            "designer": designer,
            "manager": manager,
            "models": models,
            "genres": genres,
            "create_url": request.url("/modeles"),
            "import_url": request.url("/modeles/import"),
            "schema_url": request.url("/modele.schema.json"),
            "dashboard_url": request.url("/diffusions"),
            "errors": field_errors(errors),
            "values": values,
        }),
    )
    .with_status(if errors.is_empty() { 200 } else { 422 }))
}

/// Open diffusions whose audience includes the visitor and that they have not answered.
pub(crate) fn to_fill(invocation: &Invocation, limit: usize) -> Result<Vec<Value>> {
    let today = invocation.local_now().date;
    let mut out = Vec::new();
    if invocation.caller().is_none() {
        return Ok(out);
    }
    for (id, d) in Table::<Diffusion>::new().scan(None, 300, Order::NewestFirst)? {
        if rules::period(today, d.ouverture.as_deref(), d.fermeture.as_deref()) != Period::Open
            || !in_audience(&d, invocation)
            || already_answered(id, &d, invocation)?
        {
            continue;
        }
        out.push(json!({
            "title": d.contenu.titre,
            "genre": d.contenu.genre.label(),
            "until": d.fermeture.as_deref().map(rules::date_fr),
            "url": invocation.url(&format!("/d/{id}")),
        }));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn to_fill_block(invocation: &Invocation) -> Result<Option<Fragment>> {
    if invocation.caller().is_none() {
        return Ok(None);
    }
    let items = to_fill(invocation, 5)?;
    // Nothing to fill: no block (the home page stays short).
    if items.is_empty() {
        return Ok(None);
    }
    Fragment::new(
        "block.html",
        "Formulaires à remplir",
        &json!({ "items": items }),
    )
    .map(|f| Some(f.with_more("/")))
}

pub(crate) fn schema(request: &Request, _: &Params) -> Result<Response> {
    if request.invocation().roles().is_empty() {
        return Err(Error::Forbidden);
    }
    Ok(Response::download(
        "modele.schema.json",
        "application/schema+json",
        model::SCHEMA.as_bytes().to_vec(),
    ))
}

// ---------------------------------------------------------------- models

pub(crate) fn create_model(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    if !is_designer(invocation) {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let titre = form.text("titre");
    let description = form.text("description");
    let genre = Genre::parse(&form.text("genre"));
    let mut errors = Vec::new();
    if let Some(e) = model::check_title(&titre) {
        errors.push(FieldError::new("titre", &e));
    }
    if genre.is_none() {
        errors.push(FieldError::new(
            "genre",
            "Choisissez un genre de formulaire.",
        ));
    }
    if description.chars().count() > model::MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            &format!(
                "La description dépasse {} caractères.",
                model::MAX_DESCRIPTION
            ),
        ));
    }
    if !errors.is_empty() {
        let mut values = serde_json::Map::new();
        values.insert("titre".into(), titre.into());
        values.insert("description".into(), description.into());
        values.insert("genre".into(), form.text("genre").into());
        return index_page(request, &errors, &values);
    }
    let id = insert_model(
        invocation,
        Formulaire {
            titre,
            genre: genre.expect("vérifié"),
            description,
            questions: Vec::new(),
        },
    )?;
    Ok(Response::redirect(&format!("/modeles/{id}")))
}

pub(crate) fn insert_model(invocation: &Invocation, contenu: Formulaire) -> Result<Id> {
    let caller = invocation.caller().ok_or(Error::Forbidden)?;
    let at = now();
    Table::<Modele>::new().insert(&Modele {
        contenu,
        auteur_id: caller.id.clone(),
        auteur_nom: caller.display_name.clone(),
        cree_le: at,
        modifie_le: at,
    })
}

pub(crate) fn import_model(request: &Request, _: &Params) -> Result<Response> {
    let invocation = request.invocation();
    if !is_designer(invocation) {
        return Err(Error::Forbidden);
    }
    let json = request.form().get("json").unwrap_or("").to_string();
    if json.len() > 512 * 1024 {
        return import_errors(request, &json, &["le document dépasse 512 Kio".into()]);
    }
    match model::import(&json) {
        Ok(contenu) => {
            let id = insert_model(invocation, contenu)?;
            Ok(Response::redirect(&format!("/modeles/{id}")))
        }
        Err(errors) => import_errors(request, &json, &errors),
    }
}

pub(crate) fn import_errors(request: &Request, json: &str, errors: &[String]) -> Result<Response> {
    Ok(Response::page(
        "import.html",
        "Erreur : importer un modèle",
        &json!({
            "errors": errors,
            "json": json,
            "import_url": request.url("/modeles/import"),
            "schema_url": request.url("/modele.schema.json"),
            "home_url": request.url("/"),
        }),
    )
    .with_status(422))
}

pub(crate) fn question_summary(q: &Question) -> Value {
    let mut details = Vec::new();
    if q.obligatoire {
        details.push("obligatoire".to_string());
    }
    if let Some(m) = q.max_choix {
        details.push(format!("{m} choix au plus"));
    }
    if let Some(min) = q.min {
        details.push(format!("min. {}", model::fmt_num(min)));
    }
    if let Some(max) = q.max {
        details.push(format!("max. {}", model::fmt_num(max)));
    }
    if !q.bonnes_reponses.is_empty() {
        details.push(format!(
            "bonne réponse : {} ({} pt{})",
            q.bonnes_reponses.join(", "),
            model::fmt_num(q.points()),
            if q.points() > 1.0 { "s" } else { "" }
        ));
    }
    json!({
        "kind": q.kind.label(),
        "section": q.kind == Kind::Section,
        "intitule": q.intitule,
        "aide": q.aide,
        "choix": q.choix,
        "details": details.join(" · "),
    })
}

pub(crate) fn model_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    model_editor(request, id, &model, &[], &serde_json::Map::new(), 200)
}

pub(crate) fn model_editor(
    request: &Request,
    id: Id,
    model: &Modele,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
    status: u16,
) -> Result<Response> {
    let questions: Vec<Value> = model
        .contenu
        .questions
        .iter()
        .enumerate()
        .map(|(n, q)| {
            let mut v = question_summary(q);
            v["delete_url"] = request
                .url(&format!("/modeles/{id}/questions/{n}/supprimer"))
                .into();
            v["edit_url"] = request.url(&format!("/modeles/{id}/questions/{n}")).into();
            v["up_url"] = request
                .url(&format!("/modeles/{id}/questions/{n}/monter"))
                .into();
            v["first"] = (n == 0).into();
            v["number"] = (n + 1).into();
            v
        })
        .collect();
    let genres: Vec<Value> = Genre::ALL
        .iter()
        .map(|(g, id, label)| json!({ "id": id, "label": label, "selected": *g == model.contenu.genre }))
        .collect();
    let profiles: Vec<Value> = PROFILES
        .iter()
        .map(|(id, label)| json!({ "id": id, "label": label }))
        .collect();
    let groups: Vec<Value> = group_names()
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    let diffusions: Vec<Value> = Table::<Diffusion>::new()
        .scan(None, 500, Order::NewestFirst)?
        .into_iter()
        .filter(|(_, d)| d.modele == id && Some(d.auteur_id.as_str()) == caller_id(request.invocation()))
        .map(|(did, d)| json!({ "title": d.contenu.titre, "created": d.cree_le, "url": request.url(&format!("/diffusions/{did}")) }))
        .collect();
    Ok(Response::page(
        "model.html",
        &model.contenu.titre,
        &json!({
            "model": {
                "title": model.contenu.titre,
                "description": model.contenu.description,
                "genre": model.contenu.genre.label(),
                "scored": model.contenu.genre.scored(),
            },
            "questions": questions,
            "has_questions": model::has_questions(&model.contenu),
            "kinds": kinds(),
            "genres": genres,
            "profiles": profiles,
            "groups": groups,
            "diffusions": diffusions,
            "home_url": request.url("/"),
            "update_url": request.url(&format!("/modeles/{id}")),
            "add_url": request.url(&format!("/modeles/{id}/questions")),
            "preview_url": request.url(&format!("/modeles/{id}/apercu")),
            "export_url": request.url(&format!("/modeles/{id}/export")),
            "delete_url": request.url(&format!("/modeles/{id}/supprimer")),
            "diffuse_url": request.url(&format!("/modeles/{id}/diffuser")),
            "errors": field_errors(errors),
            "values": values,
        }),
    )
    .with_status(status))
}

pub(crate) fn update_model(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let form = request.form();
    let titre = form.text("titre");
    let description = form.text("description");
    let mut errors = Vec::new();
    if let Some(e) = model::check_title(&titre) {
        errors.push(FieldError::new("titre", &e));
    }
    if description.chars().count() > model::MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            &format!(
                "La description dépasse {} caractères.",
                model::MAX_DESCRIPTION
            ),
        ));
    }
    let genre = Genre::parse(&form.text("genre")).unwrap_or(model.contenu.genre);
    let mut candidate = model.contenu.clone();
    candidate.titre = titre;
    candidate.description = description;
    candidate.genre = genre;
    if errors.is_empty() {
        // Changing the genre must keep every question valid (correct answers…).
        if let Some(e) = model::check(&candidate).into_iter().next() {
            errors.push(FieldError::new(
                "genre",
                &format!("Ce genre ne convient pas aux questions : {e}."),
            ));
        }
    }
    if !errors.is_empty() {
        return model_editor(request, id, &model, &errors, &serde_json::Map::new(), 422);
    }
    model.contenu = candidate;
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}")))
}

pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn parse_number(form: &Form, name: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let text = form.text(name);
    if text.is_empty() {
        return None;
    }
    match text.replace(',', ".").parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.push(FieldError::new(
                name,
                &format!("« {text} » n'est pas un nombre."),
            ));
            None
        }
    }
}

pub(crate) const QUESTION_FIELDS: [&str; 9] = [
    "type",
    "intitule",
    "aide",
    "choix",
    "max_choix",
    "min",
    "max",
    "bonnes_reponses",
    "points",
];

/// The question of the editor's form, checked: field errors name the form's fields.
pub(crate) fn question_from_form(form: &Form, genre: Genre) -> (Question, Vec<FieldError>) {
    let mut errors = Vec::new();
    let kind = Kind::parse(&form.text("type"));
    if kind.is_none() {
        errors.push(FieldError::new("type", "Choisissez un type de question."));
    }
    let kind = kind.unwrap_or(Kind::TexteCourt);
    let mut q = Question::new(kind, &form.text("intitule"));
    q.aide = form.text("aide");
    q.obligatoire = form.checkbox("obligatoire") && kind != Kind::Section;
    if kind.has_choices() {
        q.choix = lines(&form.text("choix"));
    }
    if kind == Kind::ChoixMultiple {
        let text = form.text("max_choix");
        if !text.is_empty() {
            match text.parse::<u32>() {
                Ok(n) => q.max_choix = Some(n),
                Err(_) => errors.push(FieldError::new("max_choix", "Indiquez un nombre entier.")),
            }
        }
    }
    if matches!(kind, Kind::Nombre | Kind::Echelle) {
        q.min = parse_number(form, "min", &mut errors);
        q.max = parse_number(form, "max", &mut errors);
        if kind == Kind::Echelle {
            q.min = q.min.or(Some(1.0));
            q.max = q.max.or(Some(5.0));
        }
    }
    if genre.scored() && kind.gradable() {
        q.bonnes_reponses = lines(&form.text("bonnes_reponses"));
        q.points = parse_number(form, "points", &mut errors);
    }
    if errors.is_empty() {
        // The rule's field names are the editor's field names; one message per field.
        for (field, message) in model::check_question(genre, &q) {
            if !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError::new(field, &sentence(&message)));
            }
        }
    }
    (q, errors)
}

/// What was typed in the question form, to show it again.
pub(crate) fn typed_question(form: &Form) -> serde_json::Map<String, Value> {
    QUESTION_FIELDS
        .iter()
        .map(|k| (k.to_string(), Value::from(form.get(k).unwrap_or(""))))
        .chain([(
            "obligatoire".to_string(),
            Value::from(form.checkbox("obligatoire")),
        )])
        .collect()
}

/// A stored question as the question form's values.
pub(crate) fn question_values(q: &Question) -> serde_json::Map<String, Value> {
    let num = |n: Option<f64>| n.map(model::fmt_num).unwrap_or_default();
    let mut values = serde_json::Map::new();
    values.insert("type".into(), q.kind.id().into());
    values.insert("intitule".into(), q.intitule.clone().into());
    values.insert("aide".into(), q.aide.clone().into());
    values.insert("choix".into(), q.choix.join("\n").into());
    values.insert(
        "max_choix".into(),
        q.max_choix
            .map(|m| m.to_string())
            .unwrap_or_default()
            .into(),
    );
    values.insert("min".into(), num(q.min).into());
    values.insert("max".into(), num(q.max).into());
    values.insert(
        "bonnes_reponses".into(),
        q.bonnes_reponses.join("\n").into(),
    );
    values.insert("points".into(), num(q.points).into());
    values.insert("obligatoire".into(), q.obligatoire.into());
    values
}

pub(crate) fn add_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let form = request.form();
    let (q, mut errors) = question_from_form(form, model.contenu.genre);
    if model.contenu.questions.len() >= model::MAX_QUESTIONS {
        errors.push(FieldError::new(
            "intitule",
            &format!("Un modèle a au plus {} questions.", model::MAX_QUESTIONS),
        ));
    }
    if !errors.is_empty() {
        return model_editor(request, id, &model, &errors, &typed_question(form), 422);
    }
    model.contenu.questions.push(q);
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

pub(crate) fn question_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    question_editor(
        request,
        id,
        n,
        &model,
        &[],
        &question_values(&model.contenu.questions[n]),
        200,
    )
}

pub(crate) fn question_editor(
    request: &Request,
    id: Id,
    n: usize,
    model: &Modele,
    errors: &[FieldError],
    values: &serde_json::Map<String, Value>,
    status: u16,
) -> Result<Response> {
    Ok(Response::page(
        "question.html",
        &format!("Question {} : {}", n + 1, model.contenu.titre),
        &json!({
            "number": n + 1,
            "model": { "title": model.contenu.titre, "scored": model.contenu.genre.scored() },
            "kinds": kinds(),
            "values": values,
            "errors": field_errors(errors),
            "home_url": request.url("/"),
            "model_url": request.url(&format!("/modeles/{id}")),
            "action_url": request.url(&format!("/modeles/{id}/questions/{n}")),
        }),
    )
    .with_status(status))
}

pub(crate) fn update_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    let form = request.form();
    let (q, errors) = question_from_form(form, model.contenu.genre);
    if !errors.is_empty() {
        return question_editor(request, id, n, &model, &errors, &typed_question(form), 422);
    }
    model.contenu.questions[n] = q;
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

pub(crate) fn kinds() -> Vec<Value> {
    Kind::ALL
        .iter()
        .map(|(_, id, label)| json!({ "id": id, "label": label }))
        .collect()
}

/// `au moins deux choix` → `Au moins deux choix.`
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

pub(crate) fn question_index(params: &Params, model: &Modele) -> Result<usize> {
    params
        .get("n")
        .parse::<usize>()
        .ok()
        .filter(|n| *n < model.contenu.questions.len())
        .ok_or(Error::NotFound)
}

pub(crate) fn delete_question(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    model.contenu.questions.remove(n);
    model.modifie_le = now();
    Table::<Modele>::new().put(id, &model)?;
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

pub(crate) fn move_question_up(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut model) = own_model(request, params)?;
    let n = question_index(params, &model)?;
    if n > 0 {
        model.contenu.questions.swap(n - 1, n);
        model.modifie_le = now();
        Table::<Modele>::new().put(id, &model)?;
    }
    Ok(Response::redirect(&format!("/modeles/{id}#questions")))
}

pub(crate) fn preview(request: &Request, params: &Params) -> Result<Response> {
    let (id, model) = own_model(request, params)?;
    Ok(Response::page(
        "answer.html",
        &format!("Aperçu : {}", model.contenu.titre),
        &json!({
            "preview": true,
            "back_url": request.url(&format!("/modeles/{id}")),
            "form": form_view(&model.contenu, &Submitted::new(), &BTreeMap::new(), None),
        }),
    ))
}

pub(crate) fn export_model(request: &Request, params: &Params) -> Result<Response> {
    let (_, model) = own_model(request, params)?;
    let body = model::export(&model.contenu, &request.url("/modele.schema.json"));
    Ok(Response::download(
        &format!("{}.json", file_name(&model.contenu.titre)),
        "application/json",
        body.into_bytes(),
    ))
}

pub(crate) fn file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if name.is_empty() {
        "formulaire".into()
    } else {
        name.chars().take(60).collect()
    }
}

pub(crate) fn delete_model(request: &Request, params: &Params) -> Result<Response> {
    let (id, _) = own_model(request, params)?;
    // Diffusions keep their snapshot: deleting the model does not stop them.
    Table::<Modele>::new().delete(id)?;
    Ok(Response::redirect("/"))
}
