//! Answering: the `/d/{id}` page with sections as pages, the embedded form
//! (`render-block` of `[[embeds]]`), checks and recording of answers.

use super::*;

/// The questions as the template draws them, with what was typed and the errors.
/// `step`: the page shown (the others' answers travel as hidden fields); None: every page.
pub(crate) fn form_view(
    form: &Formulaire,
    submitted: &Submitted,
    errors: &BTreeMap<String, String>,
    step: Option<usize>,
) -> Value {
    let pages = model::pages(form);
    let step = step.map(|s| s.min(pages.len() - 1));
    let shown = step
        .map(|s| pages[s].clone())
        .unwrap_or(0..form.questions.len());
    let in_page = |name: &str| {
        name.strip_prefix('q')
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|i| shown.contains(&i))
    };
    let carried: Vec<Value> = submitted
        .iter()
        .filter(|(name, _)| !in_page(name))
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| json!({ "name": name, "value": v }))
        })
        .collect();
    let mut number = 0;
    let questions: Vec<Value> = form
        .questions
        .iter()
        .enumerate()
        .filter_map(|(i, q)| {
            if q.kind != Kind::Section {
                number += 1;
            }
            shown.contains(&i).then_some((i, q, number))
        })
        .map(|(i, q, number)| {
            let name = answer::field(i);
            let typed: Vec<&str> = submitted
                .get(&name)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let choices: Vec<Value> = q
                .choix
                .iter()
                .enumerate()
                .map(|(c, label)| {
                    let rank = submitted
                        .get(&format!("{name}-{c}"))
                        .and_then(|v| v.first())
                        .cloned()
                        .unwrap_or_default();
                    json!({
                        "value": c.to_string(),
                        "label": label,
                        "checked": typed.contains(&c.to_string().as_str()),
                        "rank_name": format!("{name}-{c}"),
                        "rank": rank,
                    })
                })
                .collect();
            let scale: Vec<Value> = if q.kind == Kind::Echelle {
                let (min, max) = (q.min.unwrap_or(1.0) as i64, q.max.unwrap_or(5.0) as i64);
                (min..=max)
                    .map(|n| json!({ "value": n.to_string(), "checked": typed.first() == Some(&n.to_string().as_str()) }))
                    .collect()
            } else {
                Vec::new()
            };
            let hint = match q.kind {
                Kind::ChoixMultiple => q
                    .max_choix
                    .map(|m| format!("{m} choix au plus."))
                    .unwrap_or_default(),
                Kind::Nombre => match (q.min, q.max) {
                    (Some(a), Some(b)) => format!("Entre {} et {}.", model::fmt_num(a), model::fmt_num(b)),
                    (Some(a), None) => format!("Au moins {}.", model::fmt_num(a)),
                    (None, Some(b)) => format!("Au plus {}.", model::fmt_num(b)),
                    _ => String::new(),
                },
                Kind::Date => "Format : AAAA-MM-JJ.".into(),
                Kind::Classement => format!(
                    "Donnez à chaque choix un rang de 1 (premier) à {}, chaque rang une seule fois.",
                    q.choix.len()
                ),
                Kind::Echelle => format!(
                    "De {} à {}.",
                    model::fmt_num(q.min.unwrap_or(1.0)),
                    model::fmt_num(q.max.unwrap_or(5.0))
                ),
                _ => String::new(),
            };
            json!({
                "name": name,
                "number": number,
                "kind": q.kind.id(),
                "intitule": q.intitule,
                "aide": q.aide,
                "hint": hint,
                "required": q.obligatoire,
                "text": typed.first().copied().unwrap_or(""),
                "min": q.min.map(model::fmt_num).map(|s| s.replace(',', ".")),
                "max": q.max.map(model::fmt_num).map(|s| s.replace(',', ".")),
                "choices": choices,
                "scale": scale,
                "ranks": (1..=q.choix.len()).map(|n| n.to_string()).collect::<Vec<_>>(),
                "error": errors.get(&name),
            })
        })
        .collect();
    json!({
        "title": form.titre,
        "description": form.description,
        "genre": form.genre.label(),
        "questions": questions,
        "errors": errors
            .iter()
            .filter(|(k, _)| in_page(k))
            .map(|(k, v)| json!({ "field": k, "message": v }))
            .collect::<Vec<_>>(),
        "carried": carried,
        "step": step.unwrap_or(0),
        "steps": pages.len(),
        "paged": step.is_some() && pages.len() > 1,
        "first": step.is_none_or(|s| s == 0),
        "last": step.is_none_or(|s| s + 1 == pages.len()),
    })
}

pub(crate) fn load_diffusion(params: &Params) -> Result<(Id, Diffusion)> {
    let id = params.id("id")?;
    let d = Table::<Diffusion>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, d))
}

pub(crate) const ALREADY: &str = "Vous avez déjà répondu à ce formulaire. Merci !";

/// Why the visitor cannot answer now, if so, with the status of a refused answer
/// (403 outside the opening period, 409 for a second answer).
pub(crate) fn unavailable(
    id: Id,
    d: &Diffusion,
    invocation: &Invocation,
) -> Result<Option<(&'static str, u16)>> {
    Ok(
        match rules::period(
            invocation.local_now().date,
            d.ouverture.as_deref(),
            d.fermeture.as_deref(),
        ) {
            Period::NotYet => Some(("Ce formulaire n'est pas encore ouvert.", 403)),
            Period::Closed => Some((
                "Ce formulaire est fermé : il n'accepte plus de réponses.",
                403,
            )),
            Period::Open if !d.plusieurs && already_answered(id, d, invocation)? => {
                Some((ALREADY, 409))
            }
            Period::Open => None,
        },
    )
}

pub(crate) fn notice_text(d: &Diffusion, invocation: &Invocation) -> String {
    let mut parts = Vec::new();
    if d.anonyme {
        parts.push(
            "Réponses anonymes : votre nom n'est pas enregistré avec vos réponses.".to_string(),
        );
    } else if invocation.caller().is_some() {
        parts.push("Vos réponses sont enregistrées avec votre nom.".to_string());
    }
    if let Some(t) = &d.fermeture {
        parts.push(format!("Ouvert jusqu'au {}.", rules::date_fr(t)));
    }
    parts.join(" ")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn answer_view(
    request: &Request,
    id: Id,
    d: &Diffusion,
    submitted: &Submitted,
    errors: &BTreeMap<String, String>,
    step: usize,
    closed: Option<&str>,
    page: &str,
    service: &str,
    status: u16,
) -> Result<Response> {
    Ok(Response::page(
        "answer.html",
        &if errors.is_empty() {
            d.contenu.titre.clone()
        } else {
            format!("Erreur : {}", d.contenu.titre)
        },
        &json!({
            "preview": false,
            "closed": closed,
            "notice": notice_text(d, request.invocation()),
            "action_url": request.url(&format!("/d/{id}")),
            "page": page,
            "service": service,
            "back_url": rules::return_page(page, request.invocation().uai()),
            "form": form_view(&d.contenu, submitted, errors, Some(step)),
        }),
    )
    .with_status(status))
}

pub(crate) fn answer_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = load_diffusion(params)?;
    if !in_audience(&d, request.invocation()) {
        return Err(Error::Forbidden);
    }
    let closed = unavailable(id, &d, request.invocation())?.map(|(reason, _)| reason);
    let page = request.query("page").unwrap_or("").to_string();
    let service = request.query("service").unwrap_or("").to_string();
    answer_view(
        request,
        id,
        &d,
        &Submitted::new(),
        &BTreeMap::new(),
        0,
        closed,
        &page,
        &service,
        200,
    )
}

/// Remembers where the diffusion is shown (dashboard's « Service » column).
/// On a POST only (no GET changes state: the host refuses a plugin's writes
/// while it renders a block): the answer's, with the embed's [`place_token`].
pub(crate) fn remember_place(
    id: Id,
    d: &mut Diffusion,
    service: &str,
    page: &str,
    uai: &str,
) -> Result<()> {
    let (Some(service), Some(page)) = (rules::service_name(service), rules::return_page(page, uai))
    else {
        return Ok(());
    };
    let lieu = Lieu { service, page };
    let table = Table::<Diffusion>::new();
    // Conditioned on the record as read: a concurrent change (or deletion) wins,
    // the place is recorded at the next display.
    let key = format!("{}/{id}", Diffusion::KIND);
    let Some(current) = store::get_bytes(&key) else {
        return Ok(());
    };
    let mut fresh: Diffusion = serde_json::from_slice(&current)?;
    if fresh.lieux.contains(&lieu) || fresh.lieux.len() >= MAX_PLACES {
        return Ok(());
    }
    fresh.lieux.push(lieu);
    if store::batch_if(
        &[(key.as_str(), Some(&current))],
        table.put_writes(id, &fresh)?,
    )? {
        d.lieux = fresh.lieux;
    }
    Ok(())
}

pub(crate) fn submit_answer(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut d) = load_diffusion(params)?;
    let invocation = request.invocation();
    if !in_audience(&d, invocation) {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let page = form.text("page");
    let service = form.text("service");
    // The place where the host showed the form, proved by the embed's token:
    // `page` and `service` alone are what the respondent sent.
    if let (Some(s), Some(p)) = (
        rules::service_name(&service),
        rules::return_page(&page, invocation.uai()),
    ) && place_token_valid(&form.text("lieu"), id, &d.sel, &s, &p)
    {
        remember_place(id, &mut d, &s, &p, invocation.uai())?;
    }
    if let Some((reason, status)) = unavailable(id, &d, invocation)? {
        return answer_view(
            request,
            id,
            &d,
            &Submitted::new(),
            &BTreeMap::new(),
            0,
            Some(reason),
            &page,
            &service,
            status,
        );
    }
    let mut submitted = Submitted::new();
    for (i, q) in d.contenu.questions.iter().enumerate() {
        let name = answer::field(i);
        let values: Vec<String> = form.all(&name).into_iter().map(str::to_string).collect();
        if !values.is_empty() {
            submitted.insert(name.clone(), values);
        }
        for c in 0..q.choix.len() {
            let rank = format!("{name}-{c}");
            if let Some(v) = form.get(&rank) {
                submitted.insert(rank, vec![v.to_string()]);
            }
        }
    }
    // A form with several pages: « Page précédente » / « Page suivante » carry the
    // answers so far; only the last page's button records them.
    let pages = model::pages(&d.contenu);
    let last = pages.len() - 1;
    let step = form
        .text("etape")
        .parse::<usize>()
        .map_or(last, |s| s.min(last));
    let on_page = |errors: &BTreeMap<String, String>, p: usize| {
        errors
            .keys()
            .any(|k| k[1..].parse::<usize>().is_ok_and(|i| pages[p].contains(&i)))
    };
    let none = BTreeMap::new();
    let show = |step: usize, errors: &BTreeMap<String, String>, status: u16| {
        answer_view(
            request, id, &d, &submitted, errors, step, None, &page, &service, status,
        )
    };
    match form.text("aller").as_str() {
        "precedent" => return show(step.saturating_sub(1), &none, 200),
        "suivant" if step < last => {
            return match answer::read(&d.contenu, &submitted) {
                Err(errors) if on_page(&errors, step) => show(step, &errors, 422),
                _ => show(step + 1, &none, 200),
            };
        }
        _ => {}
    }
    let values = match answer::read(&d.contenu, &submitted) {
        Ok(v) => v,
        Err(errors) => {
            // Back to the first page with an error.
            let first = (0..pages.len())
                .find(|p| on_page(&errors, *p))
                .unwrap_or(step);
            return show(first, &errors, 422);
        }
    };
    let score = answer::score(&d.contenu, &values);
    let repondant = match (d.anonyme, invocation.caller()) {
        (false, Some(c)) => Some(Repondant {
            id: c.id.clone(),
            nom: c.display_name.clone(),
        }),
        _ => None,
    };
    let reponse = Reponse {
        diffusion: id,
        // Anonymous: the day only, so that the time cannot be matched with a visit.
        le: if d.anonyme {
            now().div_euclid(86_400) * 86_400
        } else {
            now()
        },
        repondant,
        valeurs: values.clone(),
        score: score.map(|(got, _)| got),
    };
    // The answer and the "already answered" marker in one conditional batch: for
    // "one answer per person", only if the marker is still absent (two tabs
    // submitting at once record one answer). The marker holds no answer id.
    let mut writes = Table::<Reponse>::new().put_writes(Id::next(), &reponse)?;
    let marker = caller_id(invocation).map(|user| marker_key(id, &d.sel, user));
    if let Some(key) = &marker {
        writes.push(store::Write::Put(key.clone(), b"1".to_vec()));
    }
    let expected: Vec<(&str, Option<&[u8]>)> = match (&marker, d.plusieurs) {
        (Some(key), false) => vec![(key.as_str(), None)],
        _ => Vec::new(),
    };
    if !store::batch_if(&expected, writes)? {
        return answer_view(
            request,
            id,
            &d,
            &Submitted::new(),
            &BTreeMap::new(),
            0,
            Some(ALREADY),
            &page,
            &service,
            409,
        );
    }
    let corrections: Vec<Value> = if d.montrer_score && d.contenu.genre == Genre::Quiz {
        d.contenu
            .questions
            .iter()
            .zip(&values)
            .filter(|(q, _)| q.graded())
            .map(|(q, v)| {
                json!({
                    "question": q.intitule,
                    "ok": answer::correct(q, v) == Some(true),
                    "expected": q.bonnes_reponses.join(", "),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Response::page(
        "merci.html",
        "Merci pour vos réponses",
        &json!({
            "title": d.contenu.titre,
            "score": if d.montrer_score { score.map(|(g, t)| format!("{} / {}", model::fmt_num(g), model::fmt_num(t))) } else { None },
            "corrections": corrections,
            "back_url": rules::return_page(&page, invocation.uai()),
            "again_url": d.plusieurs.then(|| request.url(&format!("/d/{id}"))),
        }),
    ))
}

pub(crate) fn embed_block(params: &Params, invocation: &Invocation) -> Result<Option<Fragment>> {
    let param = |name: &str| params.get(name);
    let Some(id) = Id::parse(param("id")) else {
        return Ok(None);
    };
    let Some(d) = Table::<Diffusion>::new().get(id)? else {
        return Ok(None);
    };
    let (page, service) = (param("page"), param("service"));
    // Rendering writes nothing (the host's store is read-only here): the place is
    // recorded by the answer's POST, which carries this proof of it.
    let place = rules::service_name(service)
        .zip(rules::return_page(page, invocation.uai()))
        .map(|(s, p)| place_token(id, &d.sel, &s, &p));
    let audience = in_audience(&d, invocation);
    // Outside the audience, nothing of the form shows: anyone who can write a link in
    // a message or a comment could otherwise read the title and description of every
    // diffusion by its id.
    let (title, description) = if audience {
        (d.contenu.titre.as_str(), d.contenu.description.as_str())
    } else {
        ("Formulaire", "")
    };
    let (closed, form) = if !audience {
        (
            Some(if invocation.caller().is_none() {
                "Connectez-vous pour répondre à ce formulaire."
            } else {
                "Ce formulaire ne vous est pas destiné."
            }),
            Value::Null,
        )
    } else {
        match unavailable(id, &d, invocation)? {
            Some((reason, _)) => (Some(reason), Value::Null),
            None => (
                None,
                form_view(&d.contenu, &Submitted::new(), &BTreeMap::new(), Some(0)),
            ),
        }
    };
    Fragment::new(
        "embed.html",
        title,
        &json!({
            "title": title,
            "description": description,
            "closed": closed,
            "notice": notice_text(&d, invocation),
            "action_url": invocation.url(&format!("/d/{id}")),
            "page": page,
            "service": service,
            "lieu": place,
            "form": form,
        }),
    )
    .map(Some)
}
