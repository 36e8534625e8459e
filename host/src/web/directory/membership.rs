//! A group's membership, as its administrators and its gestionnaires edit it:
//! the members' table (several removed at once) and a directory search (name
//! prefix, class, profile) whose results are picked several at once. The same
//! page and the same POST serve `/admin/e/{uai}/groupes/{id}` (administrators,
//! who also name the gestionnaires) and `/e/{uai}/mes-groupes/{id}`
//! (gestionnaires, who manage the membership and nothing else).

use super::*;

/// Who edits the membership, which decides what they may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Editor {
    /// An administrator of the establishment: members and gestionnaires.
    Administrator,
    /// A gestionnaire of the group: adds and removes members who are not gestionnaires.
    Manager,
}

/// A refused membership change: the field it concerns and the French message.
pub(super) type MembershipError = (&'static str, &'static str);

const NO_SUCH_PERSON: &str =
    "Aucune personne de cet établissement ne correspond à cet identifiant.";

/// Results of one search on the page.
const SEARCH_RESULTS: usize = 50;

/// The search typed on the page (`q`, `profil`, `classe`), if any.
fn searched(uri: &Uri) -> Option<(String, String, String)> {
    let (text, profile, class) = (
        query_value(uri, "q"),
        query_value(uri, "profil"),
        query_value(uri, "classe"),
    );
    (!text.is_empty() || !profile.is_empty() || !class.is_empty()).then_some((text, profile, class))
}

/// The membership page of `group` for `editor`, at `page_url`.
#[allow(clippy::too_many_arguments)]
pub(super) fn membership_page(
    app: &App,
    visitor: &Visitor,
    establishment: &Establishment,
    group: &Group,
    editor: Editor,
    page_url: &str,
    uri: &Uri,
    error: Option<MembershipError>,
    status: StatusCode,
) -> anyhow::Result<Response> {
    let uai = &establishment.uai;
    let members_list = app.directory.group_members(&group.id)?;
    let members: Vec<Value> = members_list
        .iter()
        .map(|u| {
            let mut row = user_row(u, uai);
            row["manager"] = json!(group.managers.contains(&u.id));
            if editor == Editor::Manager {
                // A gestionnaire opens no administration page.
                row["url"] = Value::Null;
            }
            row
        })
        .collect();
    let groups_here = app.directory.groups(uai)?;
    let search = searched(uri);
    let results: Vec<Value> = match &search {
        None => Vec::new(),
        Some((text, profile, class)) => {
            let query = Query {
                text: text.clone(),
                scope: Some(uai.clone()),
                profile: (!profile.is_empty()).then(|| profile.clone()),
                groups: (!class.is_empty()).then(|| vec![class.clone()]),
                function: None,
                page: 1,
                per_page: SEARCH_RESULTS,
            };
            search::search(app.directory.store(), &query)?
                .people
                .iter()
                .map(|p| {
                    let profile = p
                        .profiles
                        .iter()
                        .find(|(u, _)| u == uai)
                        .map(|(_, code)| profile_label(code));
                    let class = groups_here
                        .iter()
                        .filter(|g| g.kind == "classe")
                        .find(|g| p.tags.iter().any(|t| *t == format!("{uai}|g|{}", g.id)))
                        .map(|g| g.name.clone());
                    json!({
                        "id": p.id, "last_name": p.last_name, "first_name": p.first_name,
                        "profile": profile.unwrap_or(""), "class": class,
                        "member": members_list.iter().any(|m| m.id == p.id),
                    })
                })
                .collect()
        }
    };
    let (text, profile, class) = search.clone().unwrap_or_default();
    Ok(render(
        app,
        visitor,
        Some(establishment),
        "admin/group.html",
        &group.name,
        status,
        json!({
            "establishment": { "uai": uai, "name": establishment.name },
            "group": groups_view(std::slice::from_ref(group)).remove(0),
            "members": members,
            "administrator": editor == Editor::Administrator,
            "action_url": page_url,
            "back_url": match editor {
                Editor::Administrator => format!("/admin/e/{uai}/groupes"),
                Editor::Manager => format!("/e/{uai}/mes-groupes"),
            },
            "searched": search.is_some(),
            "search": { "q": text, "profil": profile, "classe": class },
            "results": results,
            "more_results": results.len() >= SEARCH_RESULTS,
            "classes": groups_here.iter().filter(|g| g.kind == "classe").map(|g| json!({ "id": g.id, "name": g.name })).collect::<Vec<_>>(),
            "profiles": profiles_view(),
            "error": error.map(|(_, message)| message),
            "error_field": error.map(|(field, _)| field),
        }),
    ))
}

/// What a membership POST did, for the audit log; or the French error to show
/// with the field it concerns (`login`: the identifier typed; `users`: the people picked).
pub(super) fn apply_membership(
    app: &App,
    actor: &User,
    group: &mut Group,
    editor: Editor,
    form: &Form,
) -> anyhow::Result<Result<String, MembershipError>> {
    let uai = group.uai.clone();
    let action = field(form, "action");
    let ids: Vec<String> = match action.as_str() {
        "add" => match app.directory.user_by_login(&field(form, "login"))? {
            Some(u) => vec![u.id],
            None => return Ok(Err(("login", NO_SUCH_PERSON))),
        },
        "add_many" | "remove_many" => all(form, "users"),
        _ => vec![field(form, "user")],
    };
    if ids.is_empty() || ids.iter().all(|id| id.is_empty()) {
        return Ok(Err(("users", "Cochez au moins une personne.")));
    }
    let manager_action = matches!(action.as_str(), "manager" | "unmanager");
    if !matches!(
        action.as_str(),
        "add" | "add_many" | "remove" | "remove_many"
    ) && !manager_action
    {
        return Ok(Err(("users", "Action inconnue.")));
    }
    if manager_action && editor == Editor::Manager {
        return Ok(Err((
            "users",
            "Seul un administrateur nomme ou retire les gestionnaires du groupe.",
        )));
    }
    // Every person is checked before anything is written: all or nothing.
    let mut people = Vec::new();
    for id in &ids {
        let Some(user) = app
            .directory
            .user(id)?
            .filter(|u| u.membership(&uai).is_some())
        else {
            let field = if action == "add" { "login" } else { "users" };
            return Ok(Err((field, NO_SUCH_PERSON)));
        };
        let removing = matches!(action.as_str(), "remove" | "remove_many");
        if removing && editor == Editor::Manager && group.managers.contains(&user.id) {
            return Ok(Err((
                "users",
                "Un gestionnaire ne peut retirer un gestionnaire du groupe : adressez-vous à un administrateur.",
            )));
        }
        people.push(user);
    }
    for old in &people {
        let mut user = old.clone();
        let membership = user
            .memberships
            .iter_mut()
            .find(|m| m.uai == uai)
            .expect("membre vérifié");
        match action.as_str() {
            "add" | "add_many" if !membership.groups.contains(&group.id) => {
                membership.groups.push(group.id.clone())
            }
            "remove" | "remove_many" => {
                membership.groups.retain(|g| *g != group.id);
                group.managers.retain(|m| *m != user.id);
            }
            "manager" if !group.managers.contains(&user.id) => group.managers.push(user.id.clone()),
            "unmanager" => group.managers.retain(|m| *m != user.id),
            _ => {}
        }
        let groups_of = |u: &User| u.membership(&uai).map(|m| m.groups.clone());
        if groups_of(&user) != groups_of(old) {
            app.directory.save_user(Some(old), &user)?;
        }
    }
    app.directory.put_group(group)?;
    let logins: Vec<&str> = people.iter().map(|u| u.login.as_str()).collect();
    let what = match action.as_str() {
        "add" | "add_many" => "ajout de membres",
        "remove" | "remove_many" => "retrait de membres",
        "manager" => "nomination d'un gestionnaire",
        _ => "retrait d'un gestionnaire",
    };
    app.directory.audit_in(
        actor,
        &uai,
        &format!("groupe « {} » : {what}", group.name),
        &logins.join(", "),
    )?;
    Ok(Ok(format!("{} personne(s)", people.len())))
}
