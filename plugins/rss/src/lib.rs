//! Flux RSS: aggregates RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed from three sources —
//! the region's project feeds (region store, managed by region administrators),
//! the establishment's feeds (managers) and each user's personal feeds. The host
//! fetches them for us (approved sites only, timeouts, size caps); we send
//! conditional requests, deduplicate entries, keep plain-text summaries, and record
//! each feed's state for the administrators.

/// The feed parser, public for its benchmark (`benches/feeds.rs`) and the
/// fuzz target (`fuzz/fuzz_targets/feed.rs`).
pub mod feed;

use preau_sdk::outbound::{self, FetchError};
use preau_sdk::prelude::*;
use preau_sdk::store::region;
use preau_sdk::time::now;
use serde::{Deserialize, Serialize};

/// Entries kept per feed.
const KEEP_ENTRIES: usize = 50;
/// Longest summary kept (plain text).
const SUMMARY_CHARS: usize = 400;
/// Feeds refreshed in one scheduled pass (the host bounds a call's duration).
const REFRESH_PER_TICK: usize = 20;
/// Feeds per source.
const MAX_FEEDS: u32 = 100;
/// Entries per page of the aggregated list.
const PER_PAGE: usize = 30;

#[derive(Deserialize)]
#[serde(default)]
struct Settings {
    rafraichissement_minutes: i64,
    entrees_dans_le_bloc: usize,
    flux_personnels: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rafraichissement_minutes: 30,
            entrees_dans_le_bloc: 6,
            flux_personnels: true,
        }
    }
}

/// Where a feed comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Source {
    /// The region's project feeds (region store).
    Projet,
    /// The establishment's feeds.
    Etablissement,
    /// A user's personal feed.
    Personnel,
}

impl Source {
    fn parse(text: &str) -> Option<Source> {
        match text {
            "projet" => Some(Source::Projet),
            "etablissement" => Some(Source::Etablissement),
            "personnel" => Some(Source::Personnel),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Source::Projet => "projet",
            Source::Etablissement => "etablissement",
            Source::Personnel => "personnel",
        }
    }
}

/// One stored entry: what the pages show.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Item {
    key: String,
    title: String,
    link: Option<String>,
    summary: String,
    published: Option<i64>,
    author: Option<String>,
}

/// A feed, its cache validators, its state and its latest entries.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Feed {
    title: String,
    url: String,
    source: Source,
    /// The owner of a personal feed.
    owner: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Last attempt, last success (Unix seconds).
    checked_at: Option<i64>,
    ok_at: Option<i64>,
    /// Why the last attempt failed, and since when it fails.
    error: Option<String>,
    failing_since: Option<i64>,
    /// The last failure was the network (no answer), not the content.
    #[serde(default)]
    unreachable: bool,
    /// Elements of the last read left out or read as plain text (an unknown
    /// content type…): the rest of the feed was kept.
    #[serde(default)]
    skipped: usize,
    items: Vec<Item>,
}

impl Record for Feed {
    const KIND: &'static str = "feed";

    fn index_keys(&self) -> Vec<String> {
        match &self.owner {
            Some(owner) => vec![format!("owner:{owner}")],
            None => vec!["etablissement".into()],
        }
    }
}

/// "3 h", "2 j", "12 min": how long a feed has failed, for administrators.
fn duration_fr(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 3600 => format!("{} min", (s / 60).max(1)),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} j", s / 86_400),
    }
}

/// The state a manager reads: "à jour", or "flux injoignable depuis 3 h : …".
fn state_text(feed: &Feed, at: i64) -> (bool, String) {
    match (&feed.error, feed.failing_since, feed.checked_at) {
        (Some(error), Some(since), _) if feed.unreachable => (
            false,
            format!(
                "Flux injoignable depuis {} ({error})",
                duration_fr(at - since)
            ),
        ),
        (Some(error), Some(since), _) => (
            false,
            format!("{error} (depuis {})", duration_fr(at - since)),
        ),
        (Some(error), None, _) => (false, error.clone()),
        (None, _, Some(checked)) => {
            let mut state = format!("À jour (vérifié il y a {})", duration_fr(at - checked));
            match feed.skipped {
                0 => {}
                1 => state.push_str(" ; 1 élément illisible, ignoré ou lu comme du texte brut"),
                n => state.push_str(&format!(
                    " ; {n} éléments illisibles, ignorés ou lus comme du texte brut"
                )),
            }
            (true, state)
        }
        (None, _, None) => (true, "Pas encore lu".into()),
    }
}

/// Fresh entries as we keep them: plain-text titles and summaries, safe links.
fn to_items(entries: Vec<feed::Entry>) -> Vec<Item> {
    entries
        .into_iter()
        .map(|e| {
            let summary = preau_sdk::html::plain_text(&e.summary_html);
            Item {
                key: e.key,
                title: if e.title.trim().is_empty() {
                    "(sans titre)".into()
                } else {
                    e.title
                },
                link: e.link,
                summary: preau_sdk::html::truncate(summary.trim(), SUMMARY_CHARS),
                published: e.published,
                author: e.author,
            }
        })
        .collect()
}

/// Merges stored and fresh items (fresh wins; newest first; at most `keep`), using
/// the parser's rules on the shared fields.
fn merge_items(stored: Vec<Item>, fresh: Vec<Item>, keep: usize) -> Vec<Item> {
    let as_entry = |i: &Item| feed::Entry {
        key: i.key.clone(),
        title: i.title.clone(),
        link: i.link.clone(),
        summary_html: String::new(),
        published: i.published,
        author: i.author.clone(),
    };
    let mut by_key: std::collections::HashMap<String, Item> = std::collections::HashMap::new();
    for item in stored.iter().chain(fresh.iter()) {
        by_key.insert(item.key.clone(), item.clone());
    }
    feed::merge(
        stored.iter().map(as_entry).collect(),
        fresh.iter().map(as_entry).collect(),
        keep,
    )
    .into_iter()
    .filter_map(|e| by_key.remove(&e.key))
    .collect()
}

/// Fetches a feed once (conditionally) and records the outcome in it.
fn refresh(feed: &mut Feed, at: i64) {
    feed.checked_at = Some(at);
    let mut headers: Vec<(&str, &str)> = vec![(
        "accept",
        "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5",
    )];
    let (etag, modified) = (feed.etag.clone(), feed.last_modified.clone());
    if let Some(etag) = &etag {
        headers.push(("if-none-match", etag));
    }
    if let Some(modified) = &modified {
        headers.push(("if-modified-since", modified));
    }
    let outcome = match outbound::get(&feed.url, &headers) {
        Ok(response) if response.status == 304 => Ok(()),
        Ok(response) if (200..300).contains(&response.status) => {
            match feed::parse(
                &response.body,
                response.header("content-type"),
                Some(&feed.url),
            ) {
                Ok(parsed) => {
                    feed.skipped = parsed.skipped;
                    let fresh = to_items(parsed.entries);
                    let stored = std::mem::take(&mut feed.items);
                    feed.items = merge_items(stored, fresh, KEEP_ENTRIES);
                    feed.etag = response.header("etag").map(str::to_string);
                    feed.last_modified = response.header("last-modified").map(str::to_string);
                    if feed.title.is_empty() {
                        feed.title = parsed.title.chars().take(80).collect();
                    }
                    Ok(())
                }
                Err(e) => Err((false, e.to_string())),
            }
        }
        Ok(response) => Err((
            false,
            format!("le site a répondu « HTTP {} »", response.status),
        )),
        Err(FetchError::NotAllowed(m)) => Err((false, format!("site non autorisé : {m}"))),
        Err(e @ (FetchError::Timeout | FetchError::Failed(_))) => Err((true, e.to_string())),
        Err(e) => Err((false, e.to_string())),
    };
    match outcome {
        Ok(()) => {
            feed.ok_at = Some(at);
            feed.error = None;
            feed.failing_since = None;
            feed.unreachable = false;
        }
        Err((unreachable, message)) => {
            feed.error = Some(message);
            feed.unreachable = unreachable;
            feed.failing_since.get_or_insert(at);
        }
    }
}

// ---------------------------------------------------------------- storage of the three sources

fn region_feeds() -> Result<Vec<(String, Feed)>> {
    region::scan_json::<Feed>("feed/", MAX_FEEDS)
}

fn establishment_feeds() -> Result<Vec<(Id, Feed)>> {
    Table::<Feed>::new().scan_index("etablissement", None, MAX_FEEDS, Order::OldestFirst)
}

fn personal_feeds(user: &str) -> Result<Vec<(Id, Feed)>> {
    Table::<Feed>::new().scan_index(
        &format!("owner:{user}"),
        None,
        MAX_FEEDS,
        Order::OldestFirst,
    )
}

/// Every feed the invocation reads, newest entries first across them.
fn visible_items(invocation: &Invocation, settings: &Settings) -> Result<Vec<(Item, String)>> {
    let mut items: Vec<(Item, String)> = Vec::new();
    let mut add = |feed: Feed| {
        let title = feed.title.clone();
        items.extend(feed.items.into_iter().map(|i| (i, title.clone())));
    };
    for (_, feed) in region_feeds()? {
        add(feed);
    }
    for (_, feed) in establishment_feeds()? {
        add(feed);
    }
    if settings.flux_personnels
        && let Some(caller) = invocation.caller()
    {
        for (_, feed) in personal_feeds(&caller.id)? {
            add(feed);
        }
    }
    // The same article in two feeds is shown once.
    let mut seen = std::collections::HashSet::new();
    items.retain(|(i, _)| seen.insert(i.link.clone().unwrap_or_else(|| i.key.clone())));
    items.sort_by_key(|b| std::cmp::Reverse(b.0.published));
    Ok(items)
}

fn item_view(item: &Item, feed_title: &str) -> serde_json::Value {
    serde_json::json!({
        "title": item.title, "link": item.link, "summary": item.summary,
        "published": item.published, "author": item.author, "feed": feed_title,
    })
}

// ---------------------------------------------------------------- plugin

struct Rss;

impl Plugin for Rss {
    fn router() -> Router {
        Router::new()
            .get("/", list)
            .get("/flux", manage)
            .post("/flux", add_feed)
            .post("/flux/{source}/{id}/supprimer", delete_feed)
            .post("/actualiser", refresh_now)
    }

    fn render_block(
        name: &str,
        _params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        if name != "derniers-flux" || !invocation.has_any_role(&["lecteur", "gestionnaire"]) {
            return Ok(None);
        }
        let settings: Settings = config()?;
        let items: Vec<serde_json::Value> = visible_items(invocation, &settings)?
            .iter()
            .take(settings.entrees_dans_le_bloc.clamp(1, 20))
            .map(|(i, f)| item_view(i, f))
            .collect();
        Fragment::new(
            "block.html",
            "Flux RSS",
            &serde_json::json!({ "items": items }),
        )
        .map(|f| Some(f.with_more("/")))
    }

    fn on_event(event: &Event, _invocation: &Invocation) -> Result<()> {
        match event {
            Event::Tick => {
                let settings: Settings = config()?;
                refresh_due(&settings, now())?;
            }
            other if other.name() == "demo" => seed_demo()?,
            _ => {}
        }
        Ok(())
    }
}

preau_sdk::export_plugin!(Rss);

/// The feeds of the administrators' training manual; read at the next scheduled
/// pass (where the network allows).
fn seed_demo() -> Result<()> {
    if !establishment_feeds()?.is_empty() {
        return Ok(());
    }
    let table = Table::<Feed>::new();
    for (title, url) in [
        ("DANE", "https://dane.ac-lyon.fr/spip/spip.php?page=backend"),
        ("Eduscol", "https://eduscol.education.fr/rss"),
        ("Onisep Lyon", "https://www.onisep.fr/rss/feed/lyon"),
    ] {
        table.insert(&Feed {
            title: title.into(),
            url: url.into(),
            source: Source::Etablissement,
            owner: None,
            etag: None,
            last_modified: None,
            checked_at: None,
            ok_at: None,
            error: None,
            failing_since: None,
            unreachable: false,
            skipped: 0,
            items: Vec::new(),
        })?;
    }
    Ok(())
}

/// Refreshes the feeds whose last check is older than the configured interval,
/// oldest first, at most [`REFRESH_PER_TICK`].
fn refresh_due(settings: &Settings, at: i64) -> Result<()> {
    let interval = settings.rafraichissement_minutes.max(0) * 60;
    let due = |feed: &Feed| feed.checked_at.is_none_or(|c| at - c >= interval);
    let mut budget = REFRESH_PER_TICK;
    for (key, mut feed) in region_feeds()? {
        if budget == 0 {
            return Ok(());
        }
        if due(&feed) {
            budget -= 1;
            refresh(&mut feed, at);
            region::put_json(&key, &feed)?;
        }
    }
    let table = Table::<Feed>::new();
    let mut candidates: Vec<(Id, Feed)> = establishment_feeds()?;
    if settings.flux_personnels {
        candidates.extend(
            table
                .scan(None, 1000, Order::OldestFirst)?
                .into_iter()
                .filter(|(_, f)| f.owner.is_some()),
        );
    }
    candidates.sort_by_key(|(_, f)| f.checked_at.unwrap_or(0));
    for (id, mut feed) in candidates.into_iter().filter(|(_, f)| due(f)).take(budget) {
        refresh(&mut feed, at);
        table.put(id, &feed)?;
    }
    Ok(())
}

fn list(request: &Request, _: &Params) -> Result<Response> {
    request.require_any_role(&["lecteur", "gestionnaire"])?;
    let settings: Settings = config()?;
    let items = visible_items(request.invocation(), &settings)?;
    let page = request.page_number().min(1000) as usize;
    let shown: Vec<serde_json::Value> = items
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|(i, f)| item_view(i, f))
        .collect();
    if page > 1 && shown.is_empty() {
        return Err(Error::NotFound);
    }
    let has_next = items.len() > page * PER_PAGE;
    Ok(Response::page(
        "list.html",
        "Flux RSS",
        &serde_json::json!({
            "items": shown,
            "manage_url": request.url("/flux"),
            "prev_url": (page > 1).then(|| request.url(&format!("/?page={}", page - 1))),
            "next_url": has_next.then(|| request.url(&format!("/?page={}", page + 1))),
        }),
    ))
}

fn feed_view(
    request: &Request,
    source: Source,
    id: &str,
    feed: &Feed,
    can_delete: bool,
    at: i64,
) -> serde_json::Value {
    let (ok, state) = state_text(feed, at);
    // What the badge shows: in error, read, or not read yet.
    let kind = match (ok, feed.checked_at) {
        (false, _) => "error",
        (true, Some(_)) => "ok",
        (true, None) => "pending",
    };
    serde_json::json!({
        "title": feed.title, "url": feed.url, "ok": ok, "kind": kind, "state": state,
        "entries": feed.items.len(),
        "delete_url": can_delete.then(|| request.url(&format!("/flux/{}/{id}/supprimer", source.code()))),
    })
}

fn is_manager(request: &Request) -> bool {
    request.invocation().has_role("gestionnaire")
}

fn manage(request: &Request, _: &Params) -> Result<Response> {
    manage_page(request, &[], &FeedForm::default())
}

#[derive(Default, Serialize)]
struct FeedForm {
    titre: String,
    url: String,
    portee: String,
}

fn manage_page(request: &Request, errors: &[FieldError], typed: &FeedForm) -> Result<Response> {
    request.require_any_role(&["lecteur", "gestionnaire"])?;
    let settings: Settings = config()?;
    let at = now();
    let invocation = request.invocation();
    let region_admin = invocation.is_region_admin();
    let manager = is_manager(request);
    let project: Vec<serde_json::Value> = region_feeds()?
        .iter()
        .map(|(key, f)| {
            let id = key.trim_start_matches("feed/");
            let mut view = feed_view(request, Source::Projet, id, f, region_admin, at);
            if !manager {
                view["state"] = serde_json::Value::Null;
            }
            view
        })
        .collect();
    let establishment: Vec<serde_json::Value> = establishment_feeds()?
        .iter()
        .map(|(id, f)| {
            let mut view = feed_view(
                request,
                Source::Etablissement,
                &id.to_string(),
                f,
                manager,
                at,
            );
            if !manager {
                view["state"] = serde_json::Value::Null;
            }
            view
        })
        .collect();
    let personal: Vec<serde_json::Value> = match (settings.flux_personnels, request.caller()) {
        (true, Some(caller)) => personal_feeds(&caller.id)?
            .iter()
            .map(|(id, f)| feed_view(request, Source::Personnel, &id.to_string(), f, true, at))
            .collect(),
        _ => Vec::new(),
    };
    let mut scopes = Vec::new();
    if settings.flux_personnels && request.caller().is_some() {
        scopes.push(serde_json::json!({ "code": "personnel", "label": "Mes flux personnels" }));
    }
    if manager {
        scopes.push(
            serde_json::json!({ "code": "etablissement", "label": "Flux de l'établissement" }),
        );
    }
    if region_admin {
        scopes.push(
            serde_json::json!({ "code": "projet", "label": "Flux du projet (toute la région)" }),
        );
    }
    let errors: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .map(|e| (e.field.clone(), e.message.clone().into()))
        .collect();
    let status = if errors.is_empty() { 200 } else { 422 };
    Ok(Response::page(
        "manage.html",
        "Gestion des flux RSS",
        &serde_json::json!({
            "project": project,
            "establishment": establishment,
            "personal": personal,
            "personal_enabled": settings.flux_personnels && request.caller().is_some(),
            "is_manager": manager,
            "scopes": scopes,
            "values": typed,
            "errors": errors,
            "action_url": request.url("/flux"),
            "refresh_url": (manager || region_admin).then(|| request.url("/actualiser")),
            "list_url": request.url("/"),
        }),
    )
    .with_status(status))
}

/// Checks the form and the feed itself: it must be reachable and parse now.
fn add_feed(request: &Request, _: &Params) -> Result<Response> {
    request.require_any_role(&["lecteur", "gestionnaire"])?;
    let settings: Settings = config()?;
    let form = request.form();
    let typed = FeedForm {
        titre: form.text("titre"),
        url: form.text("url"),
        portee: form.text("portee"),
    };
    let invocation = request.invocation();
    let mut errors = Vec::new();
    let source = Source::parse(&typed.portee);
    match source {
        Some(Source::Projet) if !invocation.is_region_admin() => return Err(Error::Forbidden),
        Some(Source::Etablissement) if !is_manager(request) => return Err(Error::Forbidden),
        Some(Source::Personnel) if !settings.flux_personnels || request.caller().is_none() => {
            return Err(Error::Forbidden);
        }
        None => errors.push(FieldError::new(
            "portee",
            "Choisissez à qui s'adresse ce flux.",
        )),
        _ => {}
    }
    if typed.titre.chars().count() > 80 {
        errors.push(FieldError::new("titre", "Le titre dépasse 80 caractères."));
    }
    let lower = typed.url.to_ascii_lowercase();
    if typed.url.len() > 500 || !(lower.starts_with("http://") || lower.starts_with("https://")) {
        errors.push(FieldError::new(
            "url",
            "Indiquez l'adresse complète du flux, commençant par http:// ou https://.",
        ));
    }
    let count = match source {
        Some(Source::Projet) => region_feeds()?.len(),
        Some(Source::Etablissement) => establishment_feeds()?.len(),
        Some(Source::Personnel) => {
            personal_feeds(&request.caller().map(|c| c.id.clone()).unwrap_or_default())?.len()
        }
        None => 0,
    };
    if count >= MAX_FEEDS as usize {
        errors.push(FieldError::new(
            "url",
            "100 flux au plus pour cette source.",
        ));
    }
    if !errors.is_empty() {
        return manage_page(request, &errors, &typed);
    }
    let source = source.expect("vérifiée");
    let at = now();
    let mut feed = Feed {
        title: typed.titre.clone(),
        url: typed.url.clone(),
        source,
        owner: (source == Source::Personnel)
            .then(|| request.caller().map(|c| c.id.clone()))
            .flatten(),
        etag: None,
        last_modified: None,
        checked_at: None,
        ok_at: None,
        error: None,
        failing_since: None,
        unreachable: false,
        skipped: 0,
        items: Vec::new(),
    };
    // Read it now: the person sees at once whether the address works.
    refresh(&mut feed, at);
    if let Some(error) = &feed.error {
        return manage_page(
            request,
            &[FieldError::new(
                "url",
                &format!("Ce flux ne peut pas être lu : {error}."),
            )],
            &typed,
        );
    }
    if feed.title.is_empty() {
        feed.title = typed.url.clone();
    }
    match source {
        Source::Projet => region::put_json(&format!("feed/{}", Id::next()), &feed)?,
        _ => {
            Table::<Feed>::new().insert(&feed)?;
        }
    }
    Ok(Response::redirect("/flux"))
}

fn delete_feed(request: &Request, params: &Params) -> Result<Response> {
    let source = Source::parse(params.get("source")).ok_or(Error::NotFound)?;
    let id = params.id("id")?;
    match source {
        Source::Projet => {
            if !request.invocation().is_region_admin() {
                return Err(Error::Forbidden);
            }
            let key = format!("feed/{id}");
            region::get_json::<Feed>(&key)?.ok_or(Error::NotFound)?;
            region::remove(&key)?;
        }
        Source::Etablissement | Source::Personnel => {
            // Refuse before looking anything up: ids of others' feeds stay unknown.
            if source == Source::Etablissement && !is_manager(request) {
                return Err(Error::Forbidden);
            }
            if source == Source::Personnel && request.caller().is_none() {
                return Err(Error::Forbidden);
            }
            let table = Table::<Feed>::new();
            let feed = table.get(id)?.ok_or(Error::NotFound)?;
            let allowed = match (&feed.owner, request.caller()) {
                (None, _) => source == Source::Etablissement && is_manager(request),
                (Some(owner), Some(caller)) => source == Source::Personnel && *owner == caller.id,
                (Some(_), None) => false,
            };
            if !allowed {
                return Err(Error::Forbidden);
            }
            table.delete(id)?;
        }
    }
    Ok(Response::redirect("/flux"))
}

/// Reads the establishment's (and, for region administrators, the project's) feeds now.
fn refresh_now(request: &Request, _: &Params) -> Result<Response> {
    let region_admin = request.invocation().is_region_admin();
    if !is_manager(request) && !region_admin {
        return Err(Error::Forbidden);
    }
    let at = now();
    if region_admin {
        for (key, mut feed) in region_feeds()?.into_iter().take(REFRESH_PER_TICK) {
            refresh(&mut feed, at);
            region::put_json(&key, &feed)?;
        }
    }
    let table = Table::<Feed>::new();
    for (id, mut feed) in establishment_feeds()?.into_iter().take(REFRESH_PER_TICK) {
        refresh(&mut feed, at);
        table.put(id, &feed)?;
    }
    Ok(Response::redirect("/flux"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, published: Option<i64>) -> Item {
        Item {
            key: key.into(),
            title: key.into(),
            link: None,
            summary: String::new(),
            published,
            author: None,
        }
    }

    #[test]
    fn merged_items_are_deduplicated_and_newest_first() {
        let stored = vec![item("a", Some(10)), item("b", Some(30))];
        let mut fresh_a = item("a", Some(10));
        fresh_a.title = "A corrigé".into();
        let merged = merge_items(stored, vec![fresh_a, item("c", Some(20))], 10);
        let keys: Vec<_> = merged.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["b", "c", "a"]);
        assert_eq!(merged[2].title, "A corrigé");
        assert_eq!(merge_items(merged, vec![], 2).len(), 2);
    }

    #[test]
    fn states_read_like_sentences() {
        let mut feed = Feed {
            title: "DANE".into(),
            url: "https://dane.ac-lyon.fr/rss".into(),
            source: Source::Etablissement,
            owner: None,
            etag: None,
            last_modified: None,
            checked_at: Some(1000),
            ok_at: None,
            error: Some("XML invalide ligne 12".into()),
            failing_since: Some(1000),
            unreachable: false,
            skipped: 0,
            items: vec![],
        };
        let (ok, text) = state_text(&feed, 1000 + 3 * 3600 + 5);
        assert!(!ok);
        assert_eq!(text, "XML invalide ligne 12 (depuis 3 h)");
        feed.unreachable = true;
        feed.error = Some("pas de réponse dans le délai imparti".into());
        assert_eq!(
            state_text(&feed, 1000 + 3 * 3600).1,
            "Flux injoignable depuis 3 h (pas de réponse dans le délai imparti)"
        );
        feed.error = None;
        feed.failing_since = None;
        assert!(state_text(&feed, 1000 + 120).1.starts_with("À jour"));
        feed.skipped = 2;
        assert_eq!(
            state_text(&feed, 1000 + 120).1,
            "À jour (vérifié il y a 2 min) ; 2 éléments illisibles, ignorés ou lus comme du texte brut"
        );
        assert_eq!(duration_fr(3 * 86_400), "3 j");
    }
}
