//! A diffusion's results: the synthesis page, individual answers of named
//! diffusions, the CSV export.

use super::*;

pub(crate) fn answers_of(id: Id) -> Result<Vec<(Id, Reponse)>> {
    Table::<Reponse>::new().scan_index(&diffusion_index(id), None, MAX_ANSWERS, Order::OldestFirst)
}

pub(crate) fn diffusion_page(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    results_page(request, id, &d, &[], 200)
}

pub(crate) fn results_page(
    request: &Request,
    id: Id,
    d: &Diffusion,
    errors: &[FieldError],
    http_status: u16,
) -> Result<Response> {
    let answers = answers_of(id)?;
    let data: Vec<(Vec<Valeur>, Option<f64>)> = answers
        .into_iter()
        .map(|(_, r)| (r.valeurs, r.score))
        .collect();
    let synthesis = results::synthesis(&d.contenu, &data);
    let link = request.url(&format!("/d/{id}"));
    let today = request.invocation().local_now().date;
    let status = match rules::period(today, d.ouverture.as_deref(), d.fermeture.as_deref()) {
        Period::NotYet => "pas encore ouverte",
        Period::Open => "ouverte",
        Period::Closed => "fermée",
    };
    Ok(Response::page(
        "diffusion.html",
        &d.contenu.titre,
        &json!({
            "d": {
                "title": d.contenu.titre,
                "model": d.modele_titre,
                "genre": d.contenu.genre.label(),
                "author": d.auteur_nom,
                "created": d.cree_le,
                "audience": audience_text(&d.audience),
                "period": period_text(d),
                "status": status,
                "anonymous": d.anonyme,
                "several": d.plusieurs,
                "show_score": d.montrer_score,
                "places": d.lieux.iter().map(|l| json!({ "service": l.service, "page": l.page })).collect::<Vec<_>>(),
            },
            "snippet": format!("<p><a href=\"{link}\">Répondre au formulaire</a></p>"),
            "link": link,
            "synthesis": synthesis,
            "dashboard_url": request.url("/diffusions"),
            "answers_url": (!d.anonyme).then(|| request.url(&format!("/diffusions/{id}/reponses"))),
            "csv_url": request.url(&format!("/diffusions/{id}/export")),
            "delete_url": request.url(&format!("/diffusions/{id}/supprimer")),
            "period_url": request.url(&format!("/diffusions/{id}/periode")),
            "can_delete": Some(d.auteur_id.as_str()) == caller_id(request.invocation()),
            "period_values": { "ouverture": d.ouverture, "fermeture": d.fermeture },
            "errors": field_errors(errors),
        }),
    )
    .with_status(http_status))
}

pub(crate) fn individual_answers(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    if d.anonyme {
        // Anonymous: there is nothing individual to show.
        return Err(Error::NotFound);
    }
    let answers: Vec<Value> = answers_of(id)?
        .into_iter()
        .map(|(_, r)| {
            let items: Vec<Value> = d
                .contenu
                .questions
                .iter()
                .zip(&r.valeurs)
                .filter(|(q, _)| q.kind != Kind::Section)
                .map(|(q, v)| json!({ "question": q.intitule, "answer": answer::display(q, v) }))
                .collect();
            json!({
                "who": r.repondant.as_ref().map(|p| p.nom.clone()).unwrap_or_else(|| "Visiteur non connecté".into()),
                "at": r.le,
                "score": r.score.map(model::fmt_num),
                "items": items,
            })
        })
        .collect();
    Ok(Response::page(
        "answers.html",
        &format!("Réponses : {}", d.contenu.titre),
        &json!({
            "title": d.contenu.titre,
            "answers": answers,
            "back_url": request.url(&format!("/diffusions/{id}")),
        }),
    ))
}

pub(crate) fn export_csv(request: &Request, params: &Params) -> Result<Response> {
    let (id, d) = managed_diffusion(request, params)?;
    let questions: Vec<(usize, &Question)> = d
        .contenu
        .questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind != Kind::Section)
        .collect();
    let scored = d.contenu.genre.scored();
    let mut header = vec!["Date".to_string()];
    if !d.anonyme {
        header.push("Répondant".into());
    }
    header.extend(questions.iter().map(|(_, q)| q.intitule.clone()));
    if scored {
        header.push("Score".into());
    }
    let mut rows = vec![header];
    let zone = request.invocation().time_zone();
    for (_, r) in answers_of(id)? {
        let mut row = vec![if d.anonyme {
            rules::day_fr(r.le)
        } else {
            rules::time_fr(r.le, &zone)
        }];
        if !d.anonyme {
            row.push(
                r.repondant
                    .as_ref()
                    .map(|p| p.nom.clone())
                    .unwrap_or_default(),
            );
        }
        for (i, q) in &questions {
            row.push(
                r.valeurs
                    .get(*i)
                    .map(|v| answer::display(q, v))
                    .unwrap_or_default(),
            );
        }
        if scored {
            row.push(r.score.map(model::fmt_num).unwrap_or_default());
        }
        rows.push(row);
    }
    // Anonymous answers in arrival order could be matched with who was seen answering
    // when: sorted by day then content instead.
    if d.anonyme {
        rows[1..].sort();
    }
    Ok(Response::download(
        &format!("{}.csv", file_name(&d.contenu.titre)),
        "text/csv; charset=utf-8",
        preau_sdk::text::csv::to_csv(&rows),
    ))
}
