//! # Préau SDK — write a Préau service as a WebAssembly component
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`, with a `plugin.toml`
//! manifest and a `templates/` folder beside its `Cargo.toml`. The host calls it
//! in a fresh sandbox per request; the plugin sees the world only through this
//! crate: the request (caller, roles, form), a store scoped to its
//! (establishment, rubrique, plugin) namespace and one for its region-wide data,
//! its validated configuration, the host's HTML sanitizer, outbound HTTP to
//! approved hosts, the establishment's school structure ([`structure`]: year,
//! periods, closures, grid, subjects, rooms; contract 0.5.1), and a log. It also carries the pure helpers plugins share:
//! [`time`] (calendar dates, French date formatting, the establishment's local time
//! in its time zone), [`text`] (accent folding, spreadsheet CSV, HTML escaping: the
//! host's own rules) and [`random`] (secure tokens).
//!
//! A complete plugin:
//!
//! ```no_run
//! use preau_sdk::prelude::*;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Note { text: String }
//!
//! impl Record for Note {
//!     const KIND: &'static str = "note";
//! }
//!
//! struct Notes;
//!
//! impl Plugin for Notes {
//!     fn router() -> Router {
//!         Router::new().get("/", list).post("/", add)
//!     }
//! }
//!
//! fn list(request: &Request, _: &Params) -> Result<Response> {
//!     request.require_role("lecteur")?;
//!     let notes: Vec<Note> = Table::<Note>::new()
//!         .scan(None, 20, Order::NewestFirst)?
//!         .into_iter()
//!         .map(|(_, note)| note)
//!         .collect();
//!     Ok(Response::page("list.html", "Notes", &serde_json::json!({ "notes": notes })))
//! }
//!
//! fn add(request: &Request, _: &Params) -> Result<Response> {
//!     request.require_role("redacteur")?;
//!     let text = request.form().required("text", "Écrivez une note.")?;
//!     Table::<Note>::new().insert(&Note { text })?;
//!     Ok(Response::redirect("/"))
//! }
//!
//! preau_sdk::export_plugin!(Notes);
//! ```
//!
//! Keep the logic in plain functions: built natively (for `cargo test`), the
//! host imports are stubs that panic, so unit tests should not reach them.
#![deny(missing_docs)]

#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_world_plugin",
        default_bindings_module: "preau_sdk::bindings",
    });
}

pub mod directory;
pub mod files;
pub mod html;
pub mod http;
pub mod log;
pub mod notify;
pub mod outbound;
pub mod random;
pub mod rights;
pub mod router;
pub mod store;
pub mod structure;
pub mod time;

/// Text rules shared with the host ([`preau_text`]): [`text::fold::fold`] and
/// [`text::fold::search_key`] (the one accent-folding rule), [`text::csv`] (the
/// spreadsheet CSV writer: BOM, `;`, CRLF, formula-safe cells), [`text::escape`] (HTML
/// escaping, for markup a plugin builds itself, such as an SVG chart).
pub use preau_text as text;

use serde::de::DeserializeOwned;

pub use http::{
    Caller, Error, FieldError, Form, Fragment, Invocation, Method, Request, Response, Result,
    Rubrique,
};
pub use router::{Params, Router};
pub use store::{Id, Order, Record, Table};

/// What a plugin implements. Only `router` is required.
pub trait Plugin {
    /// The plugin's routes below its mount. The host also reads them (for its
    /// authorization matrix), so every page a plugin serves is declared here.
    fn router() -> Router;

    /// Answers an HTTP request below the plugin's mount.
    fn handle(request: Request) -> Response {
        Self::router().handle(&request)
    }

    /// Renders a block declared in the manifest (`[[blocks]]`), or an object embedded
    /// in other content (`[[embeds]]`: `params` holds the pattern's parameters, `page`
    /// and `service`). `Ok(None)` hides the block (for example when the caller may not
    /// read the service).
    fn render_block(
        name: &str,
        params: &Params,
        invocation: &Invocation,
    ) -> Result<Option<Fragment>> {
        let _ = (name, params, invocation);
        Ok(None)
    }

    /// The newest news items `invocation` may read, strictly older than `before`
    /// (Unix seconds) when given, at most `limit`, newest first. Called for the
    /// "Actualités" block of the home page when the manifest sets `news = true`.
    fn news(limit: u32, before: Option<i64>, invocation: &Invocation) -> Result<Vec<NewsItem>> {
        let _ = (limit, before, invocation);
        Ok(Vec::new())
    }

    /// Handles a lifecycle event ([`Event::Enabled`], [`Event::ConfigChanged`]) or a
    /// scheduled job ([`Event::Tick`], when the manifest sets `scheduled = true`).
    fn on_event(event: &Event, invocation: &Invocation) -> Result<()> {
        let _ = (event, invocation);
        Ok(())
    }

    /// One of the plugin's objects with its own rights (a scope, see [`rights`]):
    /// its French label and the scopes it inherits from; `None` if there is no such
    /// object (the host's rights page then answers 404 to administrators, 403 to
    /// others). The host lets the holders of the manifest's `scoped_rights` role for
    /// the chain (scope, then parents) set the object's rights.
    fn describe_scope(scope: &str, invocation: &Invocation) -> Option<ScopeDescription> {
        let _ = (scope, invocation);
        None
    }
}

/// What the host tells a plugin through `on_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The scheduler's periodic call (manifests with `scheduled = true`): refresh,
    /// purge, archive.
    Tick,
    /// An administrator enabled the plugin in the establishment.
    Enabled,
    /// An administrator changed the plugin's configuration.
    ConfigChanged,
    /// Any other event, as the host named it (newer hosts may send more; a test
    /// harness may send its own, such as `demo`).
    Other {
        /// The event's name.
        name: String,
        /// Its payload (often empty).
        payload: String,
    },
}

impl Event {
    /// The event of a name and payload as the contract carries them.
    pub fn from_parts(name: &str, payload: &str) -> Event {
        match name {
            "tick" => Event::Tick,
            "enabled" => Event::Enabled,
            "config-changed" => Event::ConfigChanged,
            _ => Event::Other {
                name: name.to_string(),
                payload: payload.to_string(),
            },
        }
    }

    /// The event's name as the contract carries it (`tick`, `enabled`…).
    pub fn name(&self) -> &str {
        match self {
            Event::Tick => "tick",
            Event::Enabled => "enabled",
            Event::ConfigChanged => "config-changed",
            Event::Other { name, .. } => name,
        }
    }
}

/// One of the plugin's objects with its own rights, described for the host.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeDescription {
    /// French label, e.g. « Salle informatique › Salle Multi 1 ».
    pub label: String,
    /// Scopes it inherits rights from, nearest first (e.g. `["d-3"]`).
    pub parents: Vec<String>,
}

impl ScopeDescription {
    /// A top-level object.
    pub fn new(label: impl Into<String>) -> Self {
        ScopeDescription {
            label: label.into(),
            parents: Vec::new(),
        }
    }

    /// Adds a parent scope (call nearest first).
    pub fn within(mut self, parent: impl Into<String>) -> Self {
        self.parents.push(parent.into());
        self
    }
}

/// One piece of news for the home page's "Actualités" block.
#[derive(Clone, Debug, PartialEq)]
pub struct NewsItem {
    /// Stable id within this instance.
    pub id: String,
    /// Title.
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// Path below the plugin's mount (`/42`).
    pub url: String,
    /// Publication time, Unix seconds.
    pub published: i64,
    /// Author's display name (may be empty).
    pub author: String,
}

/// The establishment's configuration of this plugin, validated by the host
/// against the manifest's JSON Schema. Missing keys take their serde defaults.
pub fn config<T: DeserializeOwned>() -> Result<T> {
    let raw = bindings::preau::plugin::config::get();
    serde_json::from_str(&raw)
        .map_err(|e| Error::Internal(format!("configuration illisible : {e}")))
}

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Caller, Error, Event, FieldError, Form, Fragment, Id, Invocation, Method, NewsItem, Order,
        Params, Plugin, Record, Request, Response, Result, Router, Rubrique, ScopeDescription,
        Table, config,
    };
}

#[doc(hidden)]
pub mod __private {
    //! Glue used by [`export_plugin!`]; not part of the API.
    pub use crate::bindings::Guest;
    use crate::bindings::preau::plugin::types as wit;
    pub use wit::NewsItem as WitNewsItem;
    pub use wit::Route as WitRoute;
    pub use wit::ScopeDescription as WitScopeDescription;
    pub use wit::{Event as WitEvent, Fragment as WitFragment, Invocation as WitInvocation};
    pub use wit::{Request as WitRequest, Response as WitResponse};

    use crate::{Event, Invocation, Params, Plugin, Request};

    /// Adapts a [`Plugin`]'s `handle` to the generated export.
    pub fn handle<P: Plugin>(request: WitRequest) -> WitResponse {
        P::handle(Request::from_wit(request)).into_wit()
    }

    /// Adapts `render_block`.
    pub fn render_block<P: Plugin>(
        name: String,
        params: Vec<(String, String)>,
        invocation: WitInvocation,
    ) -> Result<Option<WitFragment>, String> {
        let invocation = Invocation::from_wit(invocation);
        P::render_block(&name, &Params::new(params), &invocation)
            .map(|fragment| fragment.map(|f| f.into_wit()))
            .map_err(|e| e.to_string())
    }

    /// Adapts `routes`.
    pub fn routes<P: Plugin>() -> Vec<WitRoute> {
        P::router()
            .table()
            .into_iter()
            .map(|(method, pattern)| WitRoute {
                method: match method {
                    crate::Method::Get => wit::Method::Get,
                    crate::Method::Post => wit::Method::Post,
                },
                pattern,
            })
            .collect()
    }

    /// Adapts `news`.
    pub fn news<P: Plugin>(
        limit: u32,
        before: Option<i64>,
        invocation: WitInvocation,
    ) -> Result<Vec<WitNewsItem>, String> {
        let invocation = Invocation::from_wit(invocation);
        P::news(limit, before, &invocation)
            .map(|items| {
                items
                    .into_iter()
                    .map(|i| WitNewsItem {
                        id: i.id,
                        title: i.title,
                        summary: i.summary,
                        url: i.url,
                        published: i.published,
                        author: i.author,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    /// Adapts `describe_scope`.
    pub fn describe_scope<P: Plugin>(
        scope: String,
        invocation: WitInvocation,
    ) -> Option<WitScopeDescription> {
        P::describe_scope(&scope, &Invocation::from_wit(invocation)).map(|d| WitScopeDescription {
            label: d.label,
            parents: d.parents,
        })
    }

    /// Adapts `on_event`.
    pub fn on_event<P: Plugin>(event: WitEvent) -> Result<(), String> {
        let invocation = Invocation::from_wit(event.invocation);
        P::on_event(&Event::from_parts(&event.name, &event.payload), &invocation)
            .map_err(|e| e.to_string())
    }
}

/// Exports a type implementing [`Plugin`] as the component's entry points.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            struct PreauExports;
            impl $crate::__private::Guest for PreauExports {
                fn plugin_id() -> ::std::string::String {
                    // The plugin crate's package name: one id everywhere.
                    ::std::string::String::from(env!("CARGO_PKG_NAME"))
                }
                fn handle(
                    request: $crate::__private::WitRequest,
                ) -> $crate::__private::WitResponse {
                    $crate::__private::handle::<$plugin>(request)
                }
                fn render_block(
                    name: ::std::string::String,
                    params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                    invocation: $crate::__private::WitInvocation,
                ) -> ::std::result::Result<
                    ::std::option::Option<$crate::__private::WitFragment>,
                    ::std::string::String,
                > {
                    $crate::__private::render_block::<$plugin>(name, params, invocation)
                }
                fn routes() -> ::std::vec::Vec<$crate::__private::WitRoute> {
                    $crate::__private::routes::<$plugin>()
                }
                fn news(
                    limit: u32,
                    before: ::std::option::Option<i64>,
                    invocation: $crate::__private::WitInvocation,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::__private::WitNewsItem>,
                    ::std::string::String,
                > {
                    $crate::__private::news::<$plugin>(limit, before, invocation)
                }
                fn on_event(
                    event: $crate::__private::WitEvent,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__private::on_event::<$plugin>(event)
                }
                fn describe_scope(
                    scope: ::std::string::String,
                    invocation: $crate::__private::WitInvocation,
                ) -> ::std::option::Option<$crate::__private::WitScopeDescription> {
                    $crate::__private::describe_scope::<$plugin>(scope, invocation)
                }
            }
    $crate::bindings::__export_world_plugin!(PreauExports with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_by_name() {
        assert_eq!(Event::from_parts("tick", ""), Event::Tick);
        assert_eq!(Event::from_parts("enabled", ""), Event::Enabled);
        assert_eq!(
            Event::from_parts("config-changed", ""),
            Event::ConfigChanged
        );
        let demo = Event::from_parts("demo", "x");
        assert_eq!(
            demo,
            Event::Other {
                name: "demo".into(),
                payload: "x".into()
            }
        );
        for event in [Event::Tick, Event::Enabled, Event::ConfigChanged, demo] {
            assert_eq!(Event::from_parts(event.name(), "").name(), event.name());
        }
    }

    #[test]
    fn block_params() {
        let params: Params = [("id", "3"), ("page", "/e/X/blog/1"), ("id", "4")]
            .into_iter()
            .collect();
        assert_eq!(params.get("id"), "3");
        assert_eq!(params.get("page"), "/e/X/blog/1");
        assert_eq!(params.get("absent"), "");
        assert_eq!(params.iter().count(), 3);
        let ids: Params = [("id", "000000000000002a"), ("n", "42")]
            .into_iter()
            .collect();
        assert_eq!(ids.id("id").unwrap(), Id(42));
        assert!(matches!(ids.id("n"), Err(Error::NotFound)));
        assert!(matches!(ids.id("absent"), Err(Error::NotFound)));
    }
}
