//! The directory search: by name prefix, in the establishment or the region.

use super::*;

// ---------------------------------------------------------------- search

/// GET /admin/e/{uai}/annuaire — search by name prefix, in the establishment or the region.
pub async fn search_page(
    State(app): State<Arc<App>>,
    EstablishmentAdmin(t): EstablishmentAdmin,
    Path(uai): Path<String>,
    uri: Uri,
) -> WebResult {
    let text = query_value(&uri, "q");
    let profile = query_value(&uri, "profil");
    let region_wide = query_value(&uri, "portee") == "region";
    let page: usize = query_value(&uri, "page")
        .parse()
        .unwrap_or(1)
        .clamp(1, 10_000);
    let class = query_value(&uri, "classe");
    let level = query_value(&uri, "niveau");
    let function = query_value(&uri, "fonction");
    let groups_here = app.directory.groups(&uai)?;
    // A class filter names one group; a level filter every class of that level.
    let group_filter: Option<Vec<String>> = if !class.is_empty() {
        Some(vec![class.clone()])
    } else if !level.is_empty() {
        Some(
            groups_here
                .iter()
                .filter(|g| g.kind == "classe" && g.level == level)
                .map(|g| g.id.clone())
                .collect(),
        )
    } else {
        None
    };
    let query = Query {
        text: text.clone(),
        scope: (!region_wide).then(|| uai.clone()),
        profile: (!profile.is_empty()).then(|| profile.clone()),
        groups: group_filter,
        function: (!function.is_empty()).then(|| function.clone()),
        page,
        per_page: 20,
    };
    let results = search::search(app.directory.store(), &query)?;
    let mut levels: Vec<&str> = groups_here
        .iter()
        .filter(|g| g.kind == "classe" && !g.level.is_empty())
        .map(|g| g.level.as_str())
        .collect();
    levels.sort();
    levels.dedup();
    let establishments = app.directory.establishments()?;
    let name_of = |code: &str| {
        establishments
            .iter()
            .find(|e| e.uai == code)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    let people: Vec<Value> = results
        .people
        .iter()
        .map(|p| {
            let here = p.profiles.iter().find(|(u, _)| *u == uai);
            let main = here.or(p.profiles.first());
            json!({
                "last_name": p.last_name,
                "first_name": p.first_name,
                "login": p.login,
                "profile": main.map(|(_, profile)| profile_label(profile)).unwrap_or(""),
                "establishment": main.map(|(u, _)| name_of(u)).unwrap_or_default(),
                "state": if p.blocked { "Bloqué" } else if p.never_signed_in { "Jamais connecté" } else { "Opérationnel" },
                // Only people of this establishment can be opened from here.
                // A person of another establishment opens in that establishment's
                // directory, for administrators of it (the form is per establishment).
                "url": match here {
                    Some(_) => Some(format!("/admin/e/{uai}/annuaire/u/{}", p.id)),
                    None => main
                        .filter(|(their_uai, _)| t.user.administers(their_uai))
                        .map(|(their_uai, _)| format!("/admin/e/{their_uai}/annuaire/u/{}", p.id)),
                },
            })
        })
        .collect();
    let link = |n: usize| {
        let pairs = [
            ("q", text.as_str()),
            ("profil", profile.as_str()),
            ("classe", class.as_str()),
            ("niveau", level.as_str()),
            ("fonction", function.as_str()),
            ("portee", if region_wide { "region" } else { "etab" }),
        ];
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.append_pair("page", &n.to_string());
        format!("/admin/e/{uai}/annuaire?{}", s.finish())
    };
    Ok(render(
        &app,
        &t.visitor,
        Some(&t.establishment),
        "admin/directory.html",
        "Annuaire",
        StatusCode::OK,
        json!({
            "establishment": t.establishment_json(),
            "q": text, "profile": profile, "region_wide": region_wide,
            "class": class, "level": level, "function": function,
            "classes": groups_here.iter().filter(|g| g.kind != "libre").map(|g| json!({ "id": g.id, "name": g.name })).collect::<Vec<_>>(),
            "levels": levels,
            "profiles": profiles_view(),
            "people": people,
            "page": page,
            "prev_url": (page > 1).then(|| link(page - 1)),
            "next_url": results.has_next.then(|| link(page + 1)),
            "new_url": format!("/admin/e/{uai}/annuaire/nouveau"),
            "groups_url": format!("/admin/e/{uai}/groupes"),
            "windows_url": format!("/admin/e/{uai}/acces"),
            "identifiers_url": format!("/admin/e/{uai}/identifiants"),
        }),
    ))
}
