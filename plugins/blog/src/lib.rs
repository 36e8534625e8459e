//! The blog: articles with a sanitized rich body, drafts, validation by a
//! moderator, publication, and a "derniers articles" home-page block.
//!
//! Roles (see `plugin.toml`): `lecteur` reads; `redacteur` writes, and its
//! articles wait for a moderator; `redacteur-en-ligne` writes and publishes its
//! own; `moderateur` publishes, edits and deletes anyone's.

use preau_sdk::prelude::*;
use preau_sdk::time::now;
use serde::{Deserialize, Serialize};

mod post;

use post::{Access, MAX_ATTACHMENTS, Post, Status, validate};

/// Every role that may read the blog.
const READERS: &[&str] = &["lecteur", "redacteur", "redacteur-en-ligne", "moderateur"];

#[derive(Deserialize)]
#[serde(default)]
struct Settings {
    titre: String,
    articles_par_page: u32,
    articles_dans_le_bloc: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            titre: "Blog de l'établissement".into(),
            articles_par_page: 10,
            articles_dans_le_bloc: 5,
        }
    }
}

struct Blog;

impl Plugin for Blog {
    fn router() -> Router {
        Router::new()
            .get("/", list)
            .get("/new", new_form)
            .post("/new", create)
            .get("/{id}", show)
            .get("/{id}/edit", edit_form)
            .post("/{id}/edit", update)
            .get("/{id}/delete", confirm_delete)
            .post("/{id}/delete", delete)
            .post("/{id}/publish", publish)
            .get("/{id}/pj/{file}", attachment)
    }

    fn render_block(
        name: &str,
        _params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        if name != "derniers-articles" || !invocation.has_any_role(READERS) {
            return Ok(None);
        }
        let settings: Settings = config()?;
        let posts = Table::<Post>::new().scan_index(
            Status::Published.index_key(),
            None,
            settings.articles_dans_le_bloc,
            Order::NewestFirst,
        )?;
        let posts: Vec<PostView> = posts
            .iter()
            .map(|(id, post)| PostView::listed(*id, post, invocation))
            .collect();
        Fragment::new(
            "block.html",
            "Derniers articles",
            &serde_json::json!({ "posts": posts }),
        )
        .map(|f| Some(f.with_more("/")))
    }

    fn news(limit: u32, before: Option<i64>, invocation: &Invocation) -> Result<Vec<NewsItem>> {
        if !invocation.has_any_role(READERS) {
            return Ok(Vec::new());
        }
        // Published articles come newest first by id; publication dates follow
        // closely enough that reading a bounded window past `before` suffices.
        let window = limit.saturating_add(200).min(1000);
        let posts = Table::<Post>::new().scan_index(
            Status::Published.index_key(),
            None,
            window,
            Order::NewestFirst,
        )?;
        let mut items: Vec<NewsItem> = posts
            .into_iter()
            .filter_map(|(id, post)| {
                let published = post.published_at.unwrap_or(post.created_at);
                (before.is_none_or(|b| published < b)).then(|| NewsItem {
                    id: id.to_string(),
                    title: post.title,
                    summary: post.excerpt,
                    url: format!("/{id}"),
                    published,
                    author: post.author_name,
                })
            })
            .collect();
        items.sort_by_key(|b| std::cmp::Reverse(b.published));
        items.truncate(limit as usize);
        Ok(items)
    }

    fn on_event(event: &Event, invocation: &Invocation) -> Result<()> {
        if event.name() == "demo" {
            seed_demo(invocation)?;
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Blog);

/// Demonstration articles, written as the caller of the `demo` event.
fn seed_demo(invocation: &Invocation) -> Result<()> {
    let Some(caller) = invocation.caller() else {
        return Ok(());
    };
    let table = Table::<Post>::new();
    if !table.scan(None, 1, Order::OldestFirst)?.is_empty() {
        return Ok(());
    }
    let articles = [
        (
            "Bienvenue sur le portail du collège",
            "<p>Ce blog rassemble les actualités de l'établissement : sorties, projets de classe, \
             informations de la vie scolaire.</p><p>Les enseignants peuvent y <strong>publier</strong> \
             des articles ; les élèves et leurs parents peuvent les lire.</p>",
        ),
        (
            "Sortie au parc naturel régional du Pilat",
            "<p>Les classes de 4<sup>e</sup> partiront le 12 juin à la découverte de la faune et de la flore \
             du Pilat. Pensez aux chaussures de marche !</p>\
             <p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>",
        ),
    ];
    let in_rubrique: Vec<(String, &str)>;
    let articles: Vec<(&str, &str)> = match invocation.rubrique().map(|r| r.id.as_str()) {
        None => articles.to_vec(),
        Some("actualites") => vec![
            (
                "Problèmes de connexion résolus",
                "<p>Les difficultés de connexion de lundi matin sont résolues. Merci de votre patience.</p>",
            ),
            (
                "Menu de la semaine",
                "<p>Lundi : carottes râpées, hachis parmentier, yaourt.</p><p>Mardi : potage, poisson pané, riz, fruit.</p>",
            ),
            (
                "Informations bourses",
                "<p>Les demandes de bourse de collège sont ouvertes jusqu'au 15 octobre. \
                 Le dossier se remplit en ligne ou au secrétariat.</p>",
            ),
        ],
        Some("conseil-d-administration") => vec![(
            "Ordre du jour du prochain conseil",
            "<p>Budget de l'exercice à venir, voyages scolaires, règlement intérieur.</p>",
        )],
        Some("vie-collegienne") => vec![(
            "Le club théâtre recrute",
            "<p>Rendez-vous le jeudi à 12 h 30 en salle polyvalente, toutes classes bienvenues.</p>",
        )],
        Some(_) => {
            let title = invocation
                .rubrique()
                .map(|r| r.title.clone())
                .unwrap_or_default();
            in_rubrique = vec![(
                format!("Bienvenue dans la rubrique {title}"),
                "<p>Les rédacteurs de la rubrique peuvent publier ici leurs premiers articles.</p>",
            )];
            in_rubrique.iter().map(|(t, b)| (t.as_str(), *b)).collect()
        }
    };
    // Older articles first, a day apart, so that the newest is listed first.
    let count = articles.len() as i64;
    for (rank, (title, body)) in articles.into_iter().enumerate() {
        let body = preau_sdk::html::sanitize(body);
        let now = now() - (count - 1 - rank as i64) * 86_400;
        table.insert(&Post {
            title: title.into(),
            excerpt: preau_sdk::html::truncate(&preau_sdk::html::plain_text(&body), 280),
            body,
            author_id: caller.id.clone(),
            author_name: caller.display_name.clone(),
            status: Status::Published,
            created_at: now,
            updated_at: now,
            published_at: Some(now),
            attachments: Vec::new(),
        })?;
    }
    Ok(())
}

/// What templates see of an article.
#[derive(Serialize)]
struct PostView {
    id: String,
    url: String,
    title: String,
    excerpt: String,
    body: String,
    author_name: String,
    created_at: i64,
    updated_at: i64,
    published_at: Option<i64>,
    status: &'static str,
    status_label: &'static str,
    attachments: Vec<AttachmentView>,
}

/// What templates see of an attached file.
#[derive(Serialize)]
struct AttachmentView {
    id: String,
    name: String,
    size: String,
    url: String,
}

impl PostView {
    /// An article as its own page shows it: with its body and attached files.
    fn new(id: Id, post: &Post, invocation: &Invocation) -> Self {
        PostView {
            body: post.body.clone(),
            attachments: post
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    size: preau_sdk::text::bytes_fr(a.size),
                    url: invocation.url(&format!("/{id}/pj/{}", a.id)),
                })
                .collect(),
            ..PostView::listed(id, post, invocation)
        }
    }

    /// An article in a list (the home block, the list page): lists show
    /// neither its body nor its files, so they do not cross to the host.
    fn listed(id: Id, post: &Post, invocation: &Invocation) -> Self {
        PostView {
            id: id.to_string(),
            url: invocation.url(&format!("/{id}")),
            title: post.title.clone(),
            excerpt: post.excerpt.clone(),
            body: String::new(),
            author_name: post.author_name.clone(),
            created_at: post.created_at,
            updated_at: post.updated_at,
            published_at: post.published_at,
            status: post.status.code(),
            status_label: post.status.label(),
            attachments: Vec::new(),
        }
    }
}

fn access(request: &Request) -> Access {
    Access::of(request.invocation())
}

fn list(request: &Request, _: &Params) -> Result<Response> {
    request.require_any_role(READERS)?;
    let settings: Settings = config()?;
    let table = Table::<Post>::new();
    let per_page = settings.articles_par_page.clamp(1, 50);
    let page = request.page_number().min(10_000);
    // Page n shows the published articles ranked (n-1)*per_page .. n*per_page;
    // one more is read to know whether a next page exists.
    let wanted = page * per_page + 1;
    let ids = table.scan_index_ids(
        Status::Published.index_key(),
        None,
        wanted,
        Order::NewestFirst,
    );
    let has_next = ids.len() as u32 == wanted;
    let skipped = ((page - 1) * per_page) as usize;
    if page > 1 && ids.len() <= skipped {
        // A page past the last one does not exist.
        return Err(Error::NotFound);
    }
    let invocation = request.invocation();
    let mut posts = Vec::new();
    for id in ids.iter().skip(skipped).take(per_page as usize) {
        if let Some(post) = table.get(*id)? {
            posts.push(PostView::listed(*id, &post, invocation));
        }
    }
    let access = access(request);
    // The caller's own unpublished articles come first on page 1 (a
    // moderator's pending ones are in the "à valider" list already).
    let mut own = Vec::new();
    if let (1, Some(caller)) = (page, request.caller()) {
        for (id, post) in table.scan_index(
            &post::author_index(&caller.id),
            None,
            200,
            Order::NewestFirst,
        )? {
            let listed_as_pending = access.can_moderate && post.status == Status::Pending;
            if post.status != Status::Published && !listed_as_pending {
                own.push(PostView::listed(id, &post, invocation));
            }
        }
    }
    let pending: Vec<PostView> = if access.can_moderate {
        table
            .scan_index(Status::Pending.index_key(), None, 100, Order::OldestFirst)?
            .iter()
            .map(|(id, post)| PostView::listed(*id, post, invocation))
            .collect()
    } else {
        Vec::new()
    };
    own.extend(posts);
    let page_url = |n: u32| request.url(&format!("/?page={n}"));
    // In a rubrique, the blog is that rubrique's.
    let title = match invocation.rubrique() {
        Some(rubrique) => rubrique.title.clone(),
        None => settings.titre.clone(),
    };
    Ok(Response::page(
        "list.html",
        &title,
        &serde_json::json!({
            "blog_title": title,
            "posts": own,
            "pending": pending,
            "can_write": access.can_write,
            "new_url": request.url("/new"),
            "page": page,
            "prev_url": (page > 1).then(|| page_url(page - 1)),
            "next_url": has_next.then(|| page_url(page + 1)),
        }),
    ))
}

fn load(params: &Params) -> Result<(Id, Post)> {
    let id = params.id("id")?;
    let post = Table::<Post>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, post))
}

fn show(request: &Request, params: &Params) -> Result<Response> {
    request.require_any_role(READERS)?;
    let (id, post) = load(params)?;
    let access = access(request);
    if !access.can_read(&post) {
        // Unpublished articles of others do not exist for this caller.
        return Err(Error::NotFound);
    }
    Ok(Response::page(
        "post.html",
        &post.title,
        &serde_json::json!({
            "post": PostView::new(id, &post, request.invocation()),
            "can_edit": access.can_edit(&post),
            "can_delete": access.can_edit(&post),
            "can_publish": access.can_moderate && post.status == Status::Pending,
            "edit_url": request.url(&format!("/{id}/edit")),
            "delete_url": request.url(&format!("/{id}/delete")),
            "publish_url": request.url(&format!("/{id}/publish")),
            "list_url": request.url("/"),
        }),
    ))
}

#[derive(Serialize, Default)]
struct FormValues {
    title: String,
    body: String,
    publish: bool,
    /// Attached files the person ticked to remove (edit form).
    remove: Vec<String>,
}

fn form_page(
    request: &Request,
    form: &ArticleForm<'_>,
    values: &FormValues,
    errors: &[FieldError],
) -> Response {
    let ArticleForm {
        mode,
        action,
        cancel,
        attachments,
    } = *form;
    let errors: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .map(|e| (e.field.clone(), e.message.clone().into()))
        .collect();
    let title = if mode == "new" {
        "Nouvel article"
    } else {
        "Modifier l'article"
    };
    let status = if errors.is_empty() { 200 } else { 422 };
    Response::page(
        "form.html",
        title,
        &serde_json::json!({
            "mode": mode,
            "action_url": request.url(action),
            "cancel_url": request.url(cancel),
            "values": values,
            "errors": errors,
            "can_publish": access(request).can_publish_own,
            "attachments": attachments,
            "files_sent_again": !errors.is_empty() && !request.files(FILES_FIELD).is_empty(),
            "usage": preau_sdk::files::usage_text(),
            "max_attachments": MAX_ATTACHMENTS,
        }),
    )
    .with_status(status)
}

fn new_form(request: &Request, _: &Params) -> Result<Response> {
    if !access(request).can_write {
        return Err(Error::Forbidden);
    }
    let values = FormValues {
        publish: true,
        ..Default::default()
    };
    Ok(form_page(request, &ArticleForm::new(), &values, &[]))
}

/// The form field of attached files.
const FILES_FIELD: &str = "pieces";

/// Which article form: new or edit (its action, where « Annuler » leads, its
/// attached files).
#[derive(Clone, Copy)]
struct ArticleForm<'a> {
    mode: &'a str,
    action: &'a str,
    cancel: &'a str,
    attachments: &'a [post::Attachment],
}

impl ArticleForm<'static> {
    fn new() -> Self {
        ArticleForm {
            mode: "new",
            action: "/new",
            cancel: "/",
            attachments: &[],
        }
    }
}

/// The article's files once the form is applied: the ticked ones removed
/// (their files deleted), the uploaded ones kept. Checked before anything is
/// written: too many files is a field error.
fn apply_attachments(
    request: &Request,
    current: &[post::Attachment],
    remove: &[String],
) -> Result<Vec<post::Attachment>> {
    let uploaded = request.files(FILES_FIELD);
    let staying: Vec<post::Attachment> = current
        .iter()
        .filter(|a| !remove.contains(&a.id))
        .cloned()
        .collect();
    if staying.len() + uploaded.len() > MAX_ATTACHMENTS {
        return Err(Error::Invalid(vec![FieldError {
            field: FILES_FIELD.into(),
            message: format!(
                "Un article porte au plus {MAX_ATTACHMENTS} pièces jointes ({} envoyées, {} déjà jointes).",
                uploaded.len(),
                staying.len()
            ),
        }]));
    }
    let mut attachments = staying;
    for file in uploaded {
        let kept = preau_sdk::files::keep(&file.id)?;
        attachments.push(post::Attachment {
            id: kept.id,
            name: kept.name,
            media_type: kept.media_type,
            size: kept.size,
        });
    }
    Ok(attachments)
}

/// Deletes the files of `attachments` that `kept` no longer lists.
fn remove_dropped(attachments: &[post::Attachment], kept: &[post::Attachment]) -> Result<()> {
    for dropped in attachments.iter().filter(|a| !kept.contains(a)) {
        preau_sdk::files::remove(&dropped.id)?;
    }
    Ok(())
}

/// GET /{id}/pj/{file}: an attached file, for whoever may read the article.
fn attachment(request: &Request, params: &Params) -> Result<Response> {
    request.require_any_role(READERS)?;
    let (_, post) = load(params)?;
    if !access(request).can_read(&post) {
        return Err(Error::NotFound);
    }
    let file = params.get("file");
    if !post.attachments.iter().any(|a| a.id == file) {
        return Err(Error::NotFound);
    }
    Ok(Response::file(file, true))
}

fn submitted(request: &Request) -> FormValues {
    let form = request.form();
    FormValues {
        title: form.text("title"),
        body: form.get("body").unwrap_or("").to_string(),
        publish: form.checkbox("publish"),
        remove: form
            .all("retirer")
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

fn create(request: &Request, _: &Params) -> Result<Response> {
    let access = access(request);
    let caller = request.caller().ok_or(Error::Forbidden)?;
    if !access.can_write {
        return Err(Error::Forbidden);
    }
    let values = submitted(request);
    if let Err(errors) = validate(&values.title, &values.body) {
        return Ok(form_page(request, &ArticleForm::new(), &values, &errors));
    }
    let attachments = match apply_attachments(request, &[], &[]) {
        Ok(attachments) => attachments,
        Err(Error::Invalid(errors)) => {
            return Ok(form_page(request, &ArticleForm::new(), &values, &errors));
        }
        Err(e) => return Err(e),
    };
    let body = preau_sdk::html::sanitize(&values.body);
    let excerpt = preau_sdk::html::truncate(&preau_sdk::html::plain_text(&body), 280);
    let now = now();
    let status = access.status_on_save(values.publish);
    let post = Post {
        title: values.title,
        body,
        excerpt,
        author_id: caller.id.clone(),
        author_name: caller.display_name.clone(),
        status,
        created_at: now,
        updated_at: now,
        published_at: (status == Status::Published).then_some(now),
        attachments,
    };
    let id = Table::<Post>::new().insert(&post)?;
    Ok(Response::redirect(&format!("/{id}")))
}

fn edit_form(request: &Request, params: &Params) -> Result<Response> {
    let (id, post) = load(params)?;
    if !access(request).can_edit(&post) {
        return Err(Error::Forbidden);
    }
    let values = FormValues {
        title: post.title,
        body: post.body,
        publish: post.status != Status::Draft,
        remove: Vec::new(),
    };
    let (action, cancel) = (format!("/{id}/edit"), format!("/{id}"));
    let form = ArticleForm {
        mode: "edit",
        action: &action,
        cancel: &cancel,
        attachments: &post.attachments,
    };
    Ok(form_page(request, &form, &values, &[]))
}

fn update(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut post) = load(params)?;
    let access = access(request);
    if !access.can_edit(&post) {
        return Err(Error::Forbidden);
    }
    let values = submitted(request);
    let (action, cancel) = (format!("/{id}/edit"), format!("/{id}"));
    let form = ArticleForm {
        mode: "edit",
        action: &action,
        cancel: &cancel,
        attachments: &post.attachments,
    };
    if let Err(errors) = validate(&values.title, &values.body) {
        return Ok(form_page(request, &form, &values, &errors));
    }
    let attachments = match apply_attachments(request, &post.attachments, &values.remove) {
        Ok(attachments) => attachments,
        Err(Error::Invalid(errors)) => return Ok(form_page(request, &form, &values, &errors)),
        Err(e) => return Err(e),
    };
    // The record first: a file is deleted only once no article names it.
    let dropped = std::mem::replace(&mut post.attachments, attachments);
    let now = now();
    post.title = values.title;
    post.body = preau_sdk::html::sanitize(&values.body);
    post.excerpt = preau_sdk::html::truncate(&preau_sdk::html::plain_text(&post.body), 280);
    post.updated_at = now;
    post.status = access.status_on_save(values.publish);
    if post.status == Status::Published {
        post.published_at.get_or_insert(now);
    } else {
        post.published_at = None;
    }
    Table::<Post>::new().put(id, &post)?;
    remove_dropped(&dropped, &post.attachments)?;
    Ok(Response::redirect(&format!("/{id}")))
}

/// Without scripts, a confirmation is a page of its own.
fn confirm_delete(request: &Request, params: &Params) -> Result<Response> {
    let (id, post) = load(params)?;
    if !access(request).can_edit(&post) {
        return Err(Error::Forbidden);
    }
    Ok(Response::page(
        "confirm-delete.html",
        "Supprimer l'article",
        &serde_json::json!({
            "post": PostView::new(id, &post, request.invocation()),
            "delete_url": request.url(&format!("/{id}/delete")),
            "list_url": request.url("/"),
        }),
    ))
}

fn delete(request: &Request, params: &Params) -> Result<Response> {
    let (id, post) = load(params)?;
    if !access(request).can_edit(&post) {
        return Err(Error::Forbidden);
    }
    Table::<Post>::new().delete(id)?;
    remove_dropped(&post.attachments, &[])?;
    Ok(Response::redirect("/"))
}

fn publish(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut post) = load(params)?;
    if !access(request).can_moderate {
        return Err(Error::Forbidden);
    }
    if post.status != Status::Published {
        post.status = Status::Published;
        post.published_at = Some(now());
        Table::<Post>::new().put(id, &post)?;
    }
    Ok(Response::redirect(&format!("/{id}")))
}
