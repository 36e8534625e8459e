//! The forum: categories → subjects → messages, in the establishment or inside a
//! rubrique (each with its own data). Sanitized rich messages with the blog's embed
//! rule, quoting, unread markers per user, pagination, search by words, and
//! moderation (hide, lock, move, pre-moderation of pupils' messages).
//!
//! Roles (see `plugin.toml`): `lecteur` reads; `contributeur` opens subjects and
//! replies; `moderateur` also creates categories and moderates.

use preau_sdk::prelude::*;
use preau_sdk::store;
use preau_sdk::time::now;
use serde::Deserialize;

mod model;
mod moderation;

use moderation::*;

use model::{Access, Category, Post, Quote, Subject, check_body, check_title};

/// Most subjects of a category read to order them by activity.
const MAX_SUBJECTS_PER_CATEGORY: u32 = 1000;
/// Messages examined by a search.
const MAX_SEARCHED_POSTS: u32 = 5000;

#[derive(Deserialize)]
#[serde(default)]
struct Settings {
    premoderation_eleves: bool,
    sujets_par_page: u32,
    messages_par_page: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            premoderation_eleves: false,
            sujets_par_page: 20,
            messages_par_page: 20,
        }
    }
}

struct Forum;

impl Plugin for Forum {
    fn router() -> Router {
        Router::new()
            .get("/", index)
            .post("/categories", create_category)
            .get("/c/{id}", category)
            .post("/c/{id}", create_subject)
            .post("/c/{id}/lu", mark_category_read)
            .get("/s/{id}", subject)
            .post("/s/{id}", reply)
            .post("/s/{id}/lu", mark_read)
            .post("/s/{id}/verrouiller", toggle_lock)
            .post("/s/{id}/masquer", toggle_subject_hidden)
            .post("/s/{id}/deplacer", move_subject)
            .post("/m/{id}/masquer", toggle_post_hidden)
            .post("/m/{id}/valider", approve)
            .get("/recherche", search)
    }

    fn render_block(
        name: &str,
        _params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        let access = Access::of(invocation);
        if name != "derniers-sujets" || !access.read {
            return Ok(None);
        }
        let caller = invocation.caller().map(|c| c.id.as_str());
        let subjects: Vec<serde_json::Value> = latest_subjects(&access, caller, 5)?
            .iter()
            .map(|(id, s)| subject_view(invocation, *id, s, None))
            .collect();
        Fragment::new(
            "block.html",
            "Derniers sujets du forum",
            &serde_json::json!({ "subjects": subjects }),
        )
        .map(|f| Some(f.with_more("/")))
    }

    fn on_event(event: &Event, invocation: &Invocation) -> Result<()> {
        if event.name() == "demo" {
            seed_demo(invocation)?;
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Forum);

fn access(request: &Request) -> Access {
    Access::of(request.invocation())
}

/// The subjects of every category, most recent activity first.
fn latest_subjects(
    access: &Access,
    caller: Option<&str>,
    limit: usize,
) -> Result<Vec<(Id, Subject)>> {
    let mut subjects: Vec<(Id, Subject)> = Table::<Subject>::new()
        .scan(None, 1000, Order::NewestFirst)?
        .into_iter()
        .filter(|(_, s)| access.sees_subject(s, caller))
        .collect();
    subjects.sort_by_key(|(_, s)| std::cmp::Reverse(s.last_post_at));
    subjects.truncate(limit);
    Ok(subjects)
}

// Unread markers. Reading never writes: no GET changes state, and the host
// refuses a plugin's writes during a GET. That is also what a reader should
// want: any message may hold a link or an image pointing at a subject, and
// loading it would otherwise mark that subject read for whoever saw the page.
// So a subject counts as read when its reader says so — replying to it (or
// starting it), « Marquer comme lu » under its messages, « Tout marquer comme
// lu » on its category — and stays « Nouveau » until then, however often the
// page is shown: like a mail client's explicit "mark as read", one click at the
// end of the thread, where the reader is once they have read it.

fn seen_key(user: &str, subject: Id) -> String {
    format!("seen/{user}/{subject}")
}

/// Whether `reader` has not yet marked every message of `subject` read.
/// Seen = how many messages the subject had when the reader marked it read
/// (a count, not a time: two messages can share a second).
fn unread(reader: &str, id: Id, subject: &Subject) -> bool {
    store::get_json::<u32>(&seen_key(reader, id))
        .ok()
        .flatten()
        .is_none_or(|seen| seen < subject.posts)
}

/// Records that `reader` has read `subject` as it is now (POST only).
fn mark_seen(reader: &str, id: Id, subject: &Subject) -> Result<()> {
    store::put_json(&seen_key(reader, id), &subject.posts)
}

fn subject_view(
    invocation: &Invocation,
    id: Id,
    subject: &Subject,
    reader: Option<&str>,
) -> serde_json::Value {
    let unread = reader.is_some_and(|user| unread(user, id, subject));
    serde_json::json!({
        "id": id.to_string(),
        "url": invocation.url(&format!("/s/{id}")),
        "title": subject.title,
        "author_name": subject.author_name,
        "created_at": subject.created_at,
        "last_post_at": subject.last_post_at,
        "last_author": subject.last_author,
        "replies": subject.posts.saturating_sub(1),
        "locked": subject.locked,
        "hidden": subject.hidden,
        "pending": subject.pending,
        "unread": unread,
    })
}

fn index(request: &Request, _: &Params) -> Result<Response> {
    let access = access(request);
    if !access.read {
        return Err(Error::Forbidden);
    }
    forum_index(request, &access, &[], "", "")
}

fn forum_index(
    request: &Request,
    access: &Access,
    errors: &[FieldError],
    title: &str,
    description: &str,
) -> Result<Response> {
    let subjects = Table::<Subject>::new();
    let categories: Vec<serde_json::Value> = Table::<Category>::new()
        .scan(None, 200, Order::OldestFirst)?
        .into_iter()
        .map(|(id, c)| {
            let count = subjects
                .scan_index_ids(
                    &model::category_index(id),
                    None,
                    MAX_SUBJECTS_PER_CATEGORY,
                    Order::OldestFirst,
                )
                .len();
            serde_json::json!({
                "title": c.title, "description": c.description, "subjects": count,
                "url": request.url(&format!("/c/{id}")),
            })
        })
        .collect();
    let reader = request.caller().map(|c| c.id.clone());
    let latest: Vec<serde_json::Value> = latest_subjects(access, reader.as_deref(), 10)?
        .iter()
        .map(|(id, s)| subject_view(request.invocation(), *id, s, reader.as_deref()))
        .collect();
    let pending = if access.moderate {
        Table::<Post>::new()
            .scan_index_ids("pending", None, 1000, Order::OldestFirst)
            .len()
    } else {
        0
    };
    Ok(Response::page(
        "index.html",
        &forum_title(request),
        &serde_json::json!({
            "forum_title": forum_title(request),
            "categories": categories,
            "latest": latest,
            "can_moderate": access.moderate,
            "pending": pending,
            "category_url": request.url("/categories"),
            "search_url": request.url("/recherche"),
            "errors": field_errors(errors),
            "values": { "titre": title, "description": description },
        }),
    )
    .with_status(if errors.is_empty() { 200 } else { 422 }))
}

fn forum_title(request: &Request) -> String {
    match request.invocation().rubrique() {
        Some(r) => format!("Forum — {}", r.title),
        None => "Forum".into(),
    }
}

fn field_errors(errors: &[FieldError]) -> serde_json::Map<String, serde_json::Value> {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.message.clone().into()))
        .collect()
}

fn create_category(request: &Request, _: &Params) -> Result<Response> {
    let access = access(request);
    if !access.moderate {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let (title, description) = (form.text("titre"), form.text("description"));
    let mut errors: Vec<FieldError> = check_title("titre", &title).into_iter().collect();
    if description.chars().count() > 300 {
        errors.push(FieldError::new(
            "description",
            "La description dépasse 300 caractères.",
        ));
    }
    if !errors.is_empty() {
        return forum_index(request, &access, &errors, &title, &description);
    }
    let id = Table::<Category>::new().insert(&Category { title, description })?;
    Ok(Response::redirect(&format!("/c/{id}")))
}

fn load_category(params: &Params) -> Result<(Id, Category)> {
    let id = params.id("id")?;
    let category = Table::<Category>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, category))
}

fn category(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    if !access.read {
        return Err(Error::Forbidden);
    }
    let (id, category) = load_category(params)?;
    category_page(request, &access, id, &category, &[], "", "")
}

fn category_page(
    request: &Request,
    access: &Access,
    id: Id,
    category: &Category,
    errors: &[FieldError],
    title: &str,
    message: &str,
) -> Result<Response> {
    let settings: Settings = config()?;
    let per_page = settings.sujets_par_page.clamp(5, 100) as usize;
    let caller = request.caller().map(|c| c.id.as_str());
    let mut subjects: Vec<(Id, Subject)> = Table::<Subject>::new()
        .scan_index(
            &model::category_index(id),
            None,
            MAX_SUBJECTS_PER_CATEGORY,
            Order::OldestFirst,
        )?
        .into_iter()
        .filter(|(_, s)| access.sees_subject(s, caller))
        .collect();
    subjects.sort_by_key(|(_, s)| std::cmp::Reverse(s.last_post_at));
    let page = request.page_number().max(1) as usize;
    if page > 1 && subjects.len() <= (page - 1) * per_page {
        return Err(Error::NotFound);
    }
    let reader = request.caller().map(|c| c.id.clone());
    let shown: Vec<serde_json::Value> = subjects
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(sid, s)| subject_view(request.invocation(), *sid, s, reader.as_deref()))
        .collect();
    let page_url = |n: usize| request.url(&format!("/c/{id}?page={n}"));
    Ok(Response::page(
        "category.html",
        &category.title,
        &serde_json::json!({
            "forum_title": forum_title(request),
            "forum_url": request.url("/"),
            "category": { "title": category.title, "description": category.description },
            "subjects": shown,
            "can_write": access.write,
            "action_url": request.url(&format!("/c/{id}")),
            "mark_read_url": shown
                .iter()
                .any(|s| s["unread"] == true)
                .then(|| request.url(&format!("/c/{id}/lu"))),
            "errors": field_errors(errors),
            "values": { "titre": title, "message": message },
            "prev_url": (page > 1).then(|| page_url(page - 1)),
            "next_url": (subjects.len() > page * per_page).then(|| page_url(page + 1)),
        }),
    )
    .with_status(if errors.is_empty() { 200 } else { 422 }))
}

/// Whether the caller's message waits for a moderator.
fn premoderated(request: &Request, access: &Access) -> Result<bool> {
    let settings: Settings = config()?;
    let pupil = request
        .caller()
        .is_some_and(|c| c.profiles.iter().any(|p| p == "eleve"));
    Ok(settings.premoderation_eleves && pupil && !access.moderate)
}

fn new_post(
    request: &Request,
    subject: Id,
    body: &str,
    quote: Option<Quote>,
    pending: bool,
) -> Post {
    let caller = request.caller().expect("rédacteur connecté");
    let body = preau_sdk::html::sanitize(body);
    Post {
        subject,
        author_id: caller.id.clone(),
        author_name: caller.display_name.clone(),
        text: preau_sdk::html::plain_text(&body),
        body,
        created_at: now(),
        hidden: false,
        pending,
        quote,
    }
}

fn create_subject(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    if !access.write {
        return Err(Error::Forbidden);
    }
    let (category_id, category) = load_category(params)?;
    let form = request.form();
    let (title, message) = (form.text("titre"), form.text("message"));
    let errors: Vec<FieldError> = check_title("titre", &title)
        .into_iter()
        .chain(check_body(&message))
        .collect();
    if !errors.is_empty() {
        return category_page(
            request,
            &access,
            category_id,
            &category,
            &errors,
            &title,
            &message,
        );
    }
    let caller = request.caller().expect("rédacteur connecté");
    let at = now();
    let pending = premoderated(request, &access)?;
    let subjects = Table::<Subject>::new();
    let subject_id = subjects.insert(&Subject {
        category: category_id,
        title,
        author_id: caller.id.clone(),
        author_name: caller.display_name.clone(),
        created_at: at,
        last_post_at: at,
        last_author: caller.display_name.clone(),
        posts: 1,
        locked: false,
        hidden: false,
        // A pupil's subject under pre-moderation waits for a moderator.
        pending,
    })?;
    Table::<Post>::new().insert(&new_post(request, subject_id, &message, None, pending))?;
    // Its author has read it.
    store::put_json(&seen_key(&caller.id, subject_id), &1u32)?;
    Ok(Response::redirect(&format!("/s/{subject_id}")))
}

fn load_subject(request: &Request, params: &Params, access: &Access) -> Result<(Id, Subject)> {
    let id = params.id("id")?;
    let subject = Table::<Subject>::new().get(id)?.ok_or(Error::NotFound)?;
    if !access.sees_subject(&subject, request.caller().map(|c| c.id.as_str())) {
        return Err(Error::NotFound);
    }
    Ok((id, subject))
}

fn subject(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    if !access.read {
        return Err(Error::Forbidden);
    }
    let (id, subject) = load_subject(request, params, &access)?;
    subject_page(request, &access, id, &subject, &[], "")
}

fn subject_page(
    request: &Request,
    access: &Access,
    id: Id,
    subject: &Subject,
    errors: &[FieldError],
    message: &str,
) -> Result<Response> {
    let settings: Settings = config()?;
    let per_page = settings.messages_par_page.clamp(5, 100) as usize;
    let caller = request.caller().map(|c| c.id.clone());
    let posts: Vec<(Id, Post)> = Table::<Post>::new()
        .scan_index(&model::subject_index(id), None, 5000, Order::OldestFirst)?
        .into_iter()
        .filter(|(_, p)| access.sees_post(p, caller.as_deref()))
        .collect();
    let last_page = posts.len().div_ceil(per_page).max(1);
    let page = (request.page_number().max(1) as usize).min(last_page);
    // The quoted message, when replying with `?citer=<id>`.
    let quoting = request
        .query("citer")
        .and_then(Id::parse)
        .and_then(|q| posts.iter().find(|(pid, _)| *pid == q))
        .map(|(pid, p)| serde_json::json!({ "id": pid.to_string(), "author": p.author_name, "excerpt": preau_sdk::html::truncate(&p.text, 300) }));
    let shown: Vec<serde_json::Value> = posts
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(pid, p)| {
            serde_json::json!({
                "id": pid.to_string(),
                "author_name": p.author_name,
                "created_at": p.created_at,
                "body": p.body,
                "hidden": p.hidden,
                "pending": p.pending,
                "quote": p.quote,
                "quote_url": request.url(&format!("/s/{id}?citer={pid}#repondre")),
                "hide_url": request.url(&format!("/m/{pid}/masquer")),
                "approve_url": request.url(&format!("/m/{pid}/valider")),
            })
        })
        .collect();
    // Shown, not marked read: « Marquer comme lu » does that (see `seen_key`).
    let mark_read_url = caller
        .as_deref()
        .is_some_and(|user| unread(user, id, subject))
        .then(|| request.url(&format!("/s/{id}/lu")));
    let categories: Vec<serde_json::Value> = if access.moderate {
        Table::<Category>::new()
            .scan(None, 200, Order::OldestFirst)?
            .into_iter()
            .map(|(cid, c)| serde_json::json!({ "id": cid.to_string(), "title": c.title, "current": cid == subject.category }))
            .collect()
    } else {
        Vec::new()
    };
    let page_url = |n: usize| request.url(&format!("/s/{id}?page={n}"));
    Ok(Response::page(
        "subject.html",
        &subject.title,
        &serde_json::json!({
            "forum_title": forum_title(request),
            "forum_url": request.url("/"),
            "category_url": request.url(&format!("/c/{}", subject.category)),
            "subject": {
                "title": subject.title, "locked": subject.locked, "hidden": subject.hidden,
            },
            "posts": shown,
            "can_reply": access.may_reply(subject),
            "mark_read_url": mark_read_url,
            "can_moderate": access.moderate,
            "premoderated": premoderated(request, access)?,
            "quoting": quoting,
            "action_url": request.url(&format!("/s/{id}")),
            "lock_url": request.url(&format!("/s/{id}/verrouiller")),
            "hide_url": request.url(&format!("/s/{id}/masquer")),
            "move_url": request.url(&format!("/s/{id}/deplacer")),
            "categories": categories,
            "errors": field_errors(errors),
            "values": { "message": message },
            "prev_url": (page > 1).then(|| page_url(page - 1)),
            "next_url": (posts.len() > page * per_page).then(|| page_url(page + 1)),
        }),
    )
    .with_status(if errors.is_empty() { 200 } else { 422 }))
}

fn reply(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    if !access.write {
        return Err(Error::Forbidden);
    }
    let (id, mut subject) = load_subject(request, params, &access)?;
    if !access.may_reply(&subject) {
        return Err(Error::Forbidden);
    }
    let form = request.form();
    let message = form.text("message");
    if let Some(error) = check_body(&message) {
        return subject_page(request, &access, id, &subject, &[error], &message);
    }
    let posts = Table::<Post>::new();
    let quote = match form.text("citer") {
        quoted if quoted.is_empty() => None,
        quoted => {
            let quoted = Id::parse(&quoted)
                .and_then(|q| posts.get(q).ok().flatten())
                .filter(|p| {
                    p.subject == id && access.sees_post(p, request.caller().map(|c| c.id.as_str()))
                })
                .ok_or_else(|| {
                    Error::Invalid(vec![FieldError::new(
                        "citer",
                        "Le message cité n'existe pas dans ce sujet.",
                    )])
                })?;
            Some(Quote {
                author: quoted.author_name,
                excerpt: preau_sdk::html::truncate(&quoted.text, 300),
            })
        }
    };
    let pending = premoderated(request, &access)?;
    let post = new_post(request, id, &message, quote, pending);
    if !pending {
        subject.posts += 1;
        subject.last_post_at = post.created_at;
        subject.last_author = post.author_name.clone();
        Table::<Subject>::new().put(id, &subject)?;
    }
    let post_id = posts.insert(&post)?;
    // Replying to a subject is having read it.
    mark_seen(&post.author_id, id, &subject)?;
    // The subject page clamps the page number: this lands on the last page.
    Ok(Response::redirect(&format!("/s/{id}?page=9999#m{post_id}")))
}

/// POST /s/{id}/lu — « Marquer comme lu »: the subject's messages are read;
/// back to its category, where the reader goes on.
fn mark_read(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    let Some(reader) = request.caller().filter(|_| access.read) else {
        return Err(Error::Forbidden);
    };
    let (id, subject) = load_subject(request, params, &access)?;
    mark_seen(&reader.id, id, &subject)?;
    Ok(Response::redirect(&format!("/c/{}", subject.category)))
}

/// POST /c/{id}/lu — « Tout marquer comme lu »: every subject of the category
/// the reader sees.
fn mark_category_read(request: &Request, params: &Params) -> Result<Response> {
    let access = access(request);
    let Some(reader) = request.caller().filter(|_| access.read) else {
        return Err(Error::Forbidden);
    };
    let (id, _) = load_category(params)?;
    // One batch (at most MAX_SUBJECTS_PER_CATEGORY writes, the host's batch limit).
    let mut writes = Vec::new();
    for (sid, subject) in Table::<Subject>::new().scan_index(
        &model::category_index(id),
        None,
        MAX_SUBJECTS_PER_CATEGORY,
        Order::OldestFirst,
    )? {
        if access.sees_subject(&subject, Some(&reader.id)) && unread(&reader.id, sid, &subject) {
            writes.push(store::Write::Put(
                seen_key(&reader.id, sid),
                serde_json::to_vec(&subject.posts).map_err(|e| Error::Internal(e.to_string()))?,
            ));
        }
    }
    if !writes.is_empty() {
        store::batch_if(&[], writes)?;
    }
    Ok(Response::redirect(&format!("/c/{id}")))
}

fn moderated_subject(request: &Request, params: &Params) -> Result<(Id, Subject)> {
    let access = access(request);
    if !access.moderate {
        return Err(Error::Forbidden);
    }
    load_subject(request, params, &access)
}

fn toggle_lock(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut subject) = moderated_subject(request, params)?;
    subject.locked = !subject.locked;
    Table::<Subject>::new().put(id, &subject)?;
    Ok(Response::redirect(&format!("/s/{id}")))
}

fn toggle_subject_hidden(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut subject) = moderated_subject(request, params)?;
    subject.hidden = !subject.hidden;
    Table::<Subject>::new().put(id, &subject)?;
    Ok(Response::redirect(&format!("/s/{id}")))
}

fn move_subject(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut subject) = moderated_subject(request, params)?;
    let target = Id::parse(&request.form().text("categorie"))
        .filter(|c| Table::<Category>::new().get(*c).ok().flatten().is_some())
        .ok_or_else(|| {
            Error::Invalid(vec![FieldError::new(
                "categorie",
                "Choisissez une catégorie existante.",
            )])
        })?;
    subject.category = target;
    Table::<Subject>::new().put(id, &subject)?;
    Ok(Response::redirect(&format!("/s/{id}")))
}

fn search(request: &Request, _: &Params) -> Result<Response> {
    let access = access(request);
    if !access.read {
        return Err(Error::Forbidden);
    }
    let query = request.query("q").unwrap_or("").trim().to_string();
    let caller = request.caller().map(|c| c.id.clone());
    let mut results = Vec::new();
    if !query.is_empty() {
        let subjects = Table::<Subject>::new();
        let mut cache: std::collections::HashMap<Id, Option<Subject>> = Default::default();
        for (pid, post) in
            Table::<Post>::new().scan(None, MAX_SEARCHED_POSTS, Order::NewestFirst)?
        {
            if !access.sees_post(&post, caller.as_deref()) {
                continue;
            }
            let subject = cache
                .entry(post.subject)
                .or_insert_with(|| subjects.get(post.subject).ok().flatten())
                .clone();
            let Some(subject) = subject.filter(|s| access.sees_subject(s, caller.as_deref()))
            else {
                continue;
            };
            if model::matches(&query, &format!("{} {}", subject.title, post.text)) {
                results.push(serde_json::json!({
                    "subject": subject.title,
                    "author_name": post.author_name,
                    "created_at": post.created_at,
                    "excerpt": preau_sdk::html::truncate(&post.text, 200),
                    "url": request.url(&format!("/s/{}#m{pid}", post.subject)),
                }));
                if results.len() >= 50 {
                    break;
                }
            }
        }
    }
    Ok(Response::page(
        "search.html",
        "Recherche dans le forum",
        &serde_json::json!({
            "forum_title": forum_title(request),
            "forum_url": request.url("/"),
            "search_url": request.url("/recherche"),
            "query": query,
            "results": results,
        }),
    ))
}

/// Demonstration categories and a subject, written as the caller of the `demo` event.
fn seed_demo(invocation: &Invocation) -> Result<()> {
    let Some(caller) = invocation.caller() else {
        return Ok(());
    };
    let categories = Table::<Category>::new();
    if !categories.scan(None, 1, Order::OldestFirst)?.is_empty() {
        return Ok(());
    }
    let general = categories.insert(&Category {
        title: "Vie du collège".into(),
        description: "Questions et idées sur la vie de l'établissement.".into(),
    })?;
    categories.insert(&Category {
        title: "Entraide".into(),
        description: "Devoirs, méthodes, révisions : on s'aide.".into(),
    })?;
    let at = now();
    let subject = Table::<Subject>::new().insert(&Subject {
        category: general,
        title: "Bienvenue sur le forum".into(),
        author_id: caller.id.clone(),
        author_name: caller.display_name.clone(),
        created_at: at,
        last_post_at: at,
        last_author: caller.display_name.clone(),
        posts: 1,
        locked: false,
        hidden: false,
        pending: false,
    })?;
    let body = preau_sdk::html::sanitize(
        "<p>Ce forum est ouvert aux élèves et aux enseignants. Restez courtois : les modérateurs veillent.</p>",
    );
    Table::<Post>::new().insert(&Post {
        subject,
        author_id: caller.id.clone(),
        author_name: caller.display_name.clone(),
        text: preau_sdk::html::plain_text(&body),
        body,
        created_at: at,
        hidden: false,
        pending: false,
        quote: None,
    })?;
    Ok(())
}
