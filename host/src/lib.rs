//! # Préau host
//!
//! The thin host of the Préau school portal: identity, tenancy, routing,
//! storage, theming and safety. Services are WebAssembly component plugins
//! (see `wit/` and the SDK); this crate never names one.
//!
//! [`serve`] is what the `preau` binary and the integration tests call.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};

pub mod appearance;
pub mod background;
pub mod backup;
pub mod backup_schedule;
pub mod bundle;
pub mod cli;
pub mod config_form;
pub mod demo;
pub mod directory;
pub mod forms;
pub mod fragments;
pub mod group_deletion;
pub mod html;
pub mod image_header;
pub mod instances;
pub mod manifest;
pub mod metrics;
pub mod notifications;
pub mod outbound;
pub mod portal;
pub mod provisioning;
pub mod rights;
pub mod runtime;
pub mod services;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod structure;
pub mod theme;
pub mod uploads;
mod web;

use directory::{Directory, PasswordPool};
use html::{EmbedProvider, Sanitizer};
use runtime::Runtime;
use store::{OpenOptions, Opening, Store};
use theme::Theme;

/// The sanitizer in force; replaced when the region changes its embed allowlist.
pub type SharedSanitizer = Arc<RwLock<Arc<Sanitizer>>>;

/// Everything [`serve`] needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Folder of the sled database (created if missing).
    pub data_dir: PathBuf,
    /// Seed the demonstration region (idempotent).
    pub demo: bool,
    /// The demonstration data file.
    pub demo_file: PathBuf,
    /// Folders whose sub-folders are plugins (`<id>/plugin.toml`, `<id>/templates/`).
    pub plugin_dirs: Vec<PathBuf>,
    /// Folder of compiled components (`<id>.wasm`, `-` written `_`).
    pub wasm_dir: PathBuf,
    /// Theme folder (`templates/`, `static/`).
    pub theme_dir: PathBuf,
    /// Precompiled components cache.
    pub cache_dir: PathBuf,
    /// How often plugin folders are checked for changes (hot reload); None disables it.
    pub reload_interval: Option<Duration>,
    /// Add `Secure` to cookies (when served over https); an `https://`
    /// [`Config::public_url`] implies it.
    pub secure_cookies: bool,
    /// The address people reach the portal at (`https://ent.example.fr`):
    /// with `https`, cookies are `Secure` and responses carry HSTS; every
    /// POST's `Origin` (or `Referer`) must be this origin. None: a POST's
    /// origin is compared with its `Host` header.
    pub public_url: Option<url::Url>,
    /// Concurrent password hashings.
    pub password_workers: usize,
    /// Time limit of one outbound request made for a plugin.
    pub outbound_timeout: Duration,
    /// Let plugins reach private addresses (127.0.0.1…): tests with a local feed server only.
    pub outbound_allow_private: bool,
    /// How often scheduled plugins receive a `tick`; None disables the scheduler.
    pub tick_interval: Option<Duration>,
    /// Distinct logins that may fail from one client address (an IPv4
    /// address, an IPv6 /64) per 15 minutes before the address is treated as
    /// spraying passwords (its attempts slowed to 2 s, its failed logins
    /// refused; a login it has not failed still signs in). Failures are
    /// counted per (address, login): a school behind one NAT address is
    /// slowed, never locked out.
    pub max_login_failures_per_address: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client
    /// address; empty: the header is ignored (anyone can write it).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Client addresses allowed to read `/metrics` (others get 404);
    /// loopback by default.
    pub metrics_allow: Vec<metrics::IpRange>,
    /// Free bytes the data folder's disk must keep: below, writes are refused
    /// (507) and reads go on; they resume by themselves once space is back.
    pub storage_reserve: u64,
    /// Memory for rendered home-page blocks (the fragment cache's budget).
    pub fragment_cache_bytes: usize,
    /// Read the whole store at start, so that damage is found before anyone is served.
    pub verify_store_on_start: bool,
    /// Once asked to stop (SIGTERM, SIGINT), how long requests in flight may
    /// take to finish before their connections are cut.
    pub shutdown_grace: Duration,
    /// Folder of the scheduled backups; None: `sauvegardes` beside the data
    /// folder ([`Config::backups_folder`]).
    pub backup_dir: Option<PathBuf>,
    /// Time a client has to send a request's headers (and that a kept-alive
    /// connection may wait for its next request); then it is closed.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body once its headers are in.
    pub body_read_timeout: Duration,
    /// A connection on which nothing moves either way for this long, while no
    /// request is being handled (a client that stopped reading), is closed.
    pub idle_timeout: Duration,
    /// Connections open at once from one client address (IPv4 address, IPv6
    /// /64; trusted proxies are not counted); beyond, refused with 503. A
    /// school behind one NAT address shares it.
    pub max_connections_per_address: usize,
}

impl Config {
    /// Whether cookies get `Secure`: [`Config::secure_cookies`], or an
    /// `https://` [`Config::public_url`].
    pub fn https(&self) -> bool {
        self.secure_cookies || self.public_url_is_https()
    }

    /// Whether [`Config::public_url`] is `https://` (HSTS is sent then).
    pub fn public_url_is_https(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|url| url.scheme() == "https")
    }

    /// The defaults for a checkout of the repository at `root`.
    pub fn for_checkout(root: &Path) -> Config {
        Config {
            data_dir: root.join("data/db"),
            demo: false,
            demo_file: root.join("data/demo.toml"),
            plugin_dirs: vec![root.join("plugins")],
            wasm_dir: root.join("target/wasm32-wasip2/release"),
            theme_dir: root.join("themes/default"),
            cache_dir: root.join("target/preau-cache"),
            reload_interval: Some(Duration::from_secs(1)),
            secure_cookies: false,
            public_url: None,
            password_workers: std::thread::available_parallelism()
                .map(|n| n.get().div_ceil(2))
                .unwrap_or(1),
            outbound_timeout: Duration::from_secs(8),
            outbound_allow_private: false,
            tick_interval: Some(Duration::from_secs(300)),
            max_login_failures_per_address: 100,
            trusted_proxies: Vec::new(),
            metrics_allow: metrics::IpRange::loopback(),
            storage_reserve: OpenOptions::default().reserve,
            fragment_cache_bytes: fragments::DEFAULT_BUDGET_BYTES,
            verify_store_on_start: true,
            shutdown_grace: Duration::from_secs(20),
            backup_dir: None,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections_per_address: 256,
        }
    }
}

/// The shared state of a running host.
pub struct App {
    config: Config,
    directory: Directory,
    runtime: Arc<Runtime>,
    theme: Theme,
    passwords: PasswordPool,
    sanitizer: SharedSanitizer,
    /// Failed current-password checks of `/compte` (per account).
    login_failures: web::auth::FailureLimiter,
    /// Sign-in throttling per (login, address), per login, per address.
    sign_in_throttle: web::auth::SignInThrottle,
    /// Outstanding CAS service tickets (in memory).
    cas_tickets: web::cas::Tickets,
    /// Passwords waiting for the page that shows them once (post/redirect/get).
    shown_once: web::shown_once::ShownOnce,
    /// Counters behind `/metrics`.
    metrics: metrics::Metrics,
    /// The stop flag that the server, the scheduler and hot reload check.
    shutdown: shutdown::Shutdown,
    /// Rendered home-page blocks, per audience, until their plugin's data changes.
    fragments: fragments::FragmentCache,
    /// Each person's navigation per establishment, until the configuration changes.
    chrome: web::catalogue::ChromeCache,
}

/// Opens the database, loads the plugins and theme, seeds what is needed.
pub async fn build(config: Config) -> Result<Arc<App>> {
    let (sled, opening) = store::open_data_dir(
        &config.data_dir,
        &OpenOptions {
            reserve: config.storage_reserve,
            verify: config.verify_store_on_start,
        },
    )?;
    let store: Arc<dyn Store> = sled;
    backup::start_control_socket(&store, &config.data_dir);
    let directory = Directory::new(store.clone());
    // Files of uploads whose request never ended (a crash) give their space back.
    match uploads::Uploads::new(store.clone()).sweep_pending() {
        Ok(0) => {}
        Ok(n) => tracing::info!("{n} fichier(s) envoyé(s) sans suite supprimé(s)"),
        Err(e) => tracing::warn!("fichiers en attente non balayés : {e:#}"),
    }
    let providers: Vec<EmbedProvider> = directory
        .region_setting::<Vec<String>>("embed-providers")?
        .map(|ids| {
            ids.iter()
                .filter_map(|id| EmbedProvider::from_id(id))
                .collect()
        })
        .unwrap_or_else(|| EmbedProvider::ALL.to_vec());
    let sanitizer: SharedSanitizer = Arc::new(RwLock::new(Arc::new(Sanitizer::new(&providers))));
    let outbound = Arc::new(outbound::Outbound::new(
        config.outbound_timeout,
        config.outbound_allow_private,
    ));
    let runtime = Runtime::new(
        store.clone(),
        sanitizer.clone(),
        outbound,
        config.plugin_dirs.clone(),
        config.wasm_dir.clone(),
        config.cache_dir.clone(),
    )?;
    // A search index written by an older version is rewritten at the current format, once
    // (search reads both meanwhile, so a failure here only leaves the space unreclaimed).
    if let Err(e) = directory::reindex::ensure_index_format(store.as_ref()) {
        tracing::warn!("index de l'annuaire non réécrit : {e:#}");
    }
    // Plugin namespaces' usage, counted once for a store from before quotas.
    store::usage::ensure_counted(store.as_ref()).context("comptage de l'espace des services")?;
    if let Some(mib) = directory.region_setting::<u64>(web::QUOTA_SETTING)? {
        runtime.set_plugin_quota(mib << 20);
    }
    let theme = Theme::new(
        config.theme_dir.clone(),
        sanitizer.clone(),
        &runtime.plugins(),
    )
    .context("chargement du thème")?;
    let app = Arc::new(App {
        passwords: PasswordPool::new(config.password_workers)?,
        directory,
        runtime,
        theme,
        sanitizer,
        login_failures: web::auth::FailureLimiter::default(),
        sign_in_throttle: web::auth::SignInThrottle::new(config.max_login_failures_per_address),
        cas_tickets: web::cas::Tickets::default(),
        shown_once: Default::default(),
        metrics: metrics::Metrics::default(),
        shutdown: shutdown::Shutdown::default(),
        fragments: fragments::FragmentCache::new(config.fragment_cache_bytes),
        chrome: Default::default(),
        config,
    });
    if app.config.demo {
        demo::seed(&app).await.context("données de démonstration")?;
    } else if !app.directory.has_users()? {
        // Only a new folder, or one whose first start stopped before this step
        // (its identity was checked: it is this region's store).
        let password = demo::create_first_admin(&app.directory)?;
        let first = match opening {
            Opening::New => "Premier démarrage",
            Opening::Existing => "Aucun compte dans cette base",
        };
        println!(
            "{first} : compte administrateur de la région « admin », mot de passe à usage unique : {password}"
        );
    }
    if let Some(interval) = app.config.reload_interval {
        let weak = Arc::downgrade(&app);
        let stop = app.shutdown.subscribe();
        app.runtime.watch(interval, stop, move |reloaded| {
            if let Some(app) = weak.upgrade() {
                tracing::info!("plugins rechargés : {}", reloaded.join(", "));
                if let Err(e) = app.theme.rebuild(&app.runtime.plugins()) {
                    tracing::error!("gabarits : {e:#}");
                }
            }
        });
    }
    if let Some(interval) = app.config.tick_interval {
        instances::start_scheduler(&app, interval);
    }
    backup_schedule::start_backup_scheduler(&app);
    Ok(app)
}

/// Serves Préau on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> Result<()> {
    serve_app(listener, build(config).await?).await
}

/// Serves an already built app on `listener` until the process ends.
pub async fn serve_app(listener: tokio::net::TcpListener, app: Arc<App>) -> Result<()> {
    serve_app_until(listener, app, std::future::pending())
        .await
        .map(|_| ())
}

/// Serves an already built app on `listener` until `shutdown` completes: then
/// no new connection is accepted, no new scheduled tick starts, and the
/// requests in flight finish, within [`Config::shutdown_grace`] (after which
/// they are cut). Call [`App::close`] afterwards.
pub async fn serve_app_until(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<shutdown::Stopped> {
    tracing::info!(
        "Préau à l'écoute sur http://{} ({} plugin(s), allocateur {})",
        listener.local_addr()?,
        app.runtime.plugins().len(),
        if app.runtime.pooled {
            "mutualisé"
        } else {
            "à la demande"
        }
    );
    // Header, body and silence timeouts, connections per address, the peer
    // address in each request (sign-in limiter, /metrics): `web::server`.
    let stopping = app.clone();
    let server = web::server::serve(listener, app.clone(), async move {
        shutdown.await;
        stopping.shutdown.begin();
    });
    app.shutdown
        .serve(server, app.config.shutdown_grace)
        .await
        .context("serveur HTTP")
}

/// The host's routes (path pattern and methods), for tests and tools.
pub fn route_table() -> Vec<(String, Vec<String>)> {
    web::route_table()
        .into_iter()
        .map(|r| {
            (
                r.path.to_string(),
                r.methods.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect()
}

/// Compatibility alias used by benchmarks: the router of a built app.
pub fn router(app: Arc<App>) -> axum::Router {
    web::router(app)
}

impl App {
    /// The plugin runtime (benchmarks call plugins directly).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The cache of rendered home-page blocks (its hit and miss counts).
    pub fn fragments(&self) -> &fragments::FragmentCache {
        &self.fragments
    }

    /// Once serving has stopped: lets the background work running finish
    /// (within the grace period; nothing new starts), then flushes the store
    /// and records a clean stop beside it.
    pub async fn close(&self) -> Result<()> {
        self.shutdown.begin();
        if !self
            .shutdown
            .wait_background(self.config.shutdown_grace)
            .await
        {
            tracing::warn!("une tâche planifiée était encore en cours à la fermeture de la base");
        }
        let store = self.directory.shared_store();
        tokio::task::spawn_blocking(move || store.close())
            .await
            .context("fermeture de la base")?
            .context("fermeture de la base")
    }
}
