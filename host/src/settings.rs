//! What the operator sets: the command line, `PREAU_*` environment variables
//! and a TOML file, over the defaults of a checkout ([`Config::for_checkout`]).
//!
//! Precedence: command line > environment > file > defaults. A list (plugin
//! folders, proxies, networks) given by a higher source replaces the lower
//! one's whole. Relative paths in the file are relative to the file's folder;
//! elsewhere to the current folder.
//!
//! Everything here is pure except [`load`], which reads the file: tests pass
//! the environment as a map.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::Config;
use crate::metrics::IpRange;

/// Listening address when nothing says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Environment variable naming the configuration file (after `--config`).
pub const CONFIG_ENV: &str = "PREAU_CONFIG";

/// One source's settings: `None` where it says nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// Listening address, `HOST:PORT`.
    pub addr: Option<String>,
    /// Database folder.
    pub data: Option<PathBuf>,
    /// Seed the demonstration region.
    pub demo: Option<bool>,
    /// Demonstration data file.
    pub demo_file: Option<PathBuf>,
    /// Folders whose sub-folders are plugins.
    pub plugins: Option<Vec<PathBuf>>,
    /// Folder of compiled components.
    pub wasm_dir: Option<PathBuf>,
    /// Theme folder.
    pub theme: Option<PathBuf>,
    /// Precompiled components cache.
    pub cache: Option<PathBuf>,
    /// Reverse proxies believed for `X-Forwarded-For`.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// `Secure` cookies (https).
    pub secure_cookies: Option<bool>,
    /// Concurrent password hashings.
    pub password_workers: Option<usize>,
    /// Time limit of a plugin's outbound request.
    pub outbound_timeout: Option<Duration>,
    /// Scheduler period (`Some(None)`: no scheduler).
    pub tick_interval: Option<Option<Duration>>,
    /// Hot reload period (`Some(None)`: no hot reload).
    pub reload_interval: Option<Option<Duration>>,
    /// Distinct logins that may fail from one client address per 15 minutes
    /// before its sign-ins are slowed and its failed logins refused.
    pub max_login_failures_per_address: Option<u32>,
    /// Who may read `/metrics`.
    pub metrics_allow: Option<Vec<IpRange>>,
    /// Free space (MiB) the data folder's disk keeps; writes are refused below.
    pub storage_reserve_mib: Option<u64>,
    /// Memory (MiB) for rendered home-page blocks.
    pub fragment_cache_mib: Option<u64>,
    /// Read the whole store at start.
    pub verify_store_on_start: Option<bool>,
    /// How long requests in flight may take to finish once asked to stop.
    pub shutdown_grace: Option<Duration>,
    /// Folder of the scheduled backups.
    pub backup_dir: Option<PathBuf>,
    /// The portal's public address (`https://…`).
    pub public_url: Option<url::Url>,
    /// Time to send a request's headers.
    pub header_read_timeout: Option<Duration>,
    /// Time to send a request's body.
    pub body_read_timeout: Option<Duration>,
    /// Silence after which a connection is closed.
    pub idle_timeout: Option<Duration>,
    /// Connections at once from one client address.
    pub max_connections_per_address: Option<usize>,
}

/// How a key's value is written.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Path,
    Paths,
    Bool,
    Count,
    /// A count that may be 0.
    Size,
    Duration,
    OptionalDuration,
    Addresses,
    Ranges,
    /// An absolute http(s) URL.
    Url,
}

/// Every key of the file, with its environment variable.
const KEYS: &[(&str, &str, Kind)] = &[
    ("addr", "PREAU_ADDR", Kind::Text),
    ("data", "PREAU_DATA", Kind::Path),
    ("demo", "PREAU_DEMO", Kind::Bool),
    ("demo_file", "PREAU_DEMO_FILE", Kind::Path),
    ("plugins", "PREAU_PLUGINS", Kind::Paths),
    ("wasm_dir", "PREAU_WASM_DIR", Kind::Path),
    ("theme", "PREAU_THEME", Kind::Path),
    ("cache", "PREAU_CACHE", Kind::Path),
    ("trusted_proxies", "PREAU_TRUSTED_PROXIES", Kind::Addresses),
    ("secure_cookies", "PREAU_SECURE_COOKIES", Kind::Bool),
    ("password_workers", "PREAU_PASSWORD_WORKERS", Kind::Count),
    ("outbound_timeout", "PREAU_OUTBOUND_TIMEOUT", Kind::Duration),
    (
        "tick_interval",
        "PREAU_TICK_INTERVAL",
        Kind::OptionalDuration,
    ),
    (
        "reload_interval",
        "PREAU_RELOAD_INTERVAL",
        Kind::OptionalDuration,
    ),
    (
        "max_login_failures_per_address",
        "PREAU_MAX_LOGIN_FAILURES_PER_ADDRESS",
        Kind::Count,
    ),
    ("metrics_allow", "PREAU_METRICS_ALLOW", Kind::Ranges),
    (
        "storage_reserve_mib",
        "PREAU_STORAGE_RESERVE_MIB",
        Kind::Size,
    ),
    ("fragment_cache_mib", "PREAU_FRAGMENT_CACHE_MIB", Kind::Size),
    (
        "verify_store_on_start",
        "PREAU_VERIFY_STORE_ON_START",
        Kind::Bool,
    ),
    ("shutdown_grace", "PREAU_SHUTDOWN_GRACE", Kind::Duration),
    ("backup_dir", "PREAU_BACKUP_DIR", Kind::Path),
    ("public_url", "PREAU_PUBLIC_URL", Kind::Url),
    (
        "header_read_timeout",
        "PREAU_HEADER_READ_TIMEOUT",
        Kind::Duration,
    ),
    (
        "body_read_timeout",
        "PREAU_BODY_READ_TIMEOUT",
        Kind::Duration,
    ),
    ("idle_timeout", "PREAU_IDLE_TIMEOUT", Kind::Duration),
    (
        "max_connections_per_address",
        "PREAU_MAX_CONNECTIONS_PER_ADDRESS",
        Kind::Count,
    ),
];

/// The keys a file may hold, for messages and documentation.
pub fn keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYS.iter().map(|(key, env, _)| (*key, *env))
}

/// A value as a source gives it.
enum Raw<'a> {
    /// From the TOML file; relative paths against `base`.
    Toml(&'a toml::Value, &'a Path),
    /// From an environment variable.
    Env(&'a str),
}

/// One parsed value.
enum Parsed {
    Text(String),
    Path(PathBuf),
    Paths(Vec<PathBuf>),
    Bool(bool),
    Count(u64),
    Duration(Option<Duration>),
    Addresses(Vec<IpAddr>),
    Ranges(Vec<IpRange>),
    Url(url::Url),
}

impl Raw<'_> {
    fn text(&self) -> Result<&str, String> {
        match self {
            Raw::Toml(toml::Value::String(s), _) => Ok(s.as_str()),
            Raw::Toml(other, _) => Err(format!(
                "texte attendu entre guillemets, trouvé {}",
                other.type_str()
            )),
            Raw::Env(s) => Ok(*s),
        }
    }

    fn path(&self, text: &str) -> Result<PathBuf, String> {
        if text.trim().is_empty() {
            return Err("chemin vide".into());
        }
        Ok(match self {
            Raw::Toml(_, base) => base.join(text),
            Raw::Env(_) => PathBuf::from(text),
        })
    }

    /// The items of a list: a TOML array of strings, or the variable split on `separators`.
    fn items(&self, separators: &[char]) -> Result<Vec<String>, String> {
        match self {
            Raw::Toml(toml::Value::Array(values), _) => values
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "liste de textes attendue, élément de type {}",
                        other.type_str()
                    )),
                })
                .collect(),
            Raw::Toml(other, _) => Err(format!(
                "liste attendue (ex. [\"…\", \"…\"]), trouvé {}",
                other.type_str()
            )),
            Raw::Env(s) => Ok(s
                .split(separators)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()),
        }
    }

    fn parse(&self, kind: Kind) -> Result<Parsed, String> {
        let size = matches!(kind, Kind::Size);
        Ok(match kind {
            Kind::Text => {
                let text = self.text()?.trim();
                if text.is_empty() {
                    return Err("valeur vide".into());
                }
                Parsed::Text(text.to_string())
            }
            Kind::Path => Parsed::Path(self.path(self.text()?)?),
            Kind::Paths => Parsed::Paths(
                self.items(&[':'])?
                    .iter()
                    .map(|p| self.path(p))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Bool => Parsed::Bool(match self {
                Raw::Toml(toml::Value::Boolean(b), _) => *b,
                Raw::Toml(other, _) => {
                    return Err(format!(
                        "true ou false attendu, trouvé {}",
                        other.type_str()
                    ));
                }
                Raw::Env(s) => parse_bool(s)?,
            }),
            Kind::Count | Kind::Size => Parsed::Count(match self {
                // A size may be 0 (no reserve); a count may not.
                Raw::Toml(toml::Value::Integer(n), _) if *n > 0 || *n == 0 && size => *n as u64,
                Raw::Toml(toml::Value::Integer(n), _) => {
                    return Err(format!("nombre entier positif attendu, trouvé {n}"));
                }
                Raw::Toml(other, _) => {
                    return Err(format!(
                        "nombre entier attendu, trouvé {}",
                        other.type_str()
                    ));
                }
                Raw::Env(s) => match s.trim().parse::<u64>() {
                    Ok(n) if n > 0 || size => n,
                    _ => return Err(format!("nombre entier positif attendu, trouvé « {s} »")),
                },
            }),
            Kind::Duration | Kind::OptionalDuration => {
                let duration = match self {
                    Raw::Toml(toml::Value::Integer(n), _) if *n >= 0 => {
                        Duration::from_secs(*n as u64)
                    }
                    Raw::Toml(toml::Value::String(s), _) => parse_duration(s)?,
                    Raw::Env(s) => parse_duration(s)?,
                    Raw::Toml(other, _) => {
                        return Err(format!(
                            "durée attendue (ex. 30 ou \"500ms\", \"5min\"), trouvé {}",
                            other.type_str()
                        ));
                    }
                };
                match (kind, duration.is_zero()) {
                    (Kind::Duration, true) => return Err("durée nulle".into()),
                    (_, true) => Parsed::Duration(None),
                    _ => Parsed::Duration(Some(duration)),
                }
            }
            Kind::Addresses => Parsed::Addresses(
                self.items(&[',', ' '])?
                    .iter()
                    .map(|a| {
                        a.parse::<IpAddr>()
                            .map_err(|_| format!("« {a} » n'est pas une adresse IP"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Url => Parsed::Url(parse_public_url(self.text()?)?),
            Kind::Ranges => Parsed::Ranges(
                self.items(&[',', ' '])?
                    .iter()
                    .map(|r| r.parse::<IpRange>())
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "1" | "true" | "oui" | "yes" | "on" => Ok(true),
        "0" | "false" | "non" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "oui ou non attendu (true/false, 1/0), trouvé « {text} »"
        )),
    }
}

/// The portal's public address: an absolute `http://` or `https://` URL with a host.
pub fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let text = text.trim();
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(format!(
            "adresse publique invalide « {text} » (ex. \"https://ent.exemple.fr\")"
        )),
    }
}

/// `30` (seconds), `500ms`, `8s`, `5min`, `2h`; `0` disables where that makes sense.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid =
        || format!("durée invalide « {text} » (ex. 30, \"500ms\", \"8s\", \"5min\", \"2h\")");
    let n: u64 = number.parse().map_err(|_| invalid())?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "min" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        _ => Err(invalid()),
    }
}

impl Settings {
    fn set(&mut self, key: &str, value: Parsed) {
        match (key, value) {
            ("addr", Parsed::Text(v)) => self.addr = Some(v),
            ("data", Parsed::Path(v)) => self.data = Some(v),
            ("demo", Parsed::Bool(v)) => self.demo = Some(v),
            ("demo_file", Parsed::Path(v)) => self.demo_file = Some(v),
            ("plugins", Parsed::Paths(v)) => self.plugins = Some(v),
            ("wasm_dir", Parsed::Path(v)) => self.wasm_dir = Some(v),
            ("theme", Parsed::Path(v)) => self.theme = Some(v),
            ("cache", Parsed::Path(v)) => self.cache = Some(v),
            ("trusted_proxies", Parsed::Addresses(v)) => self.trusted_proxies = Some(v),
            ("secure_cookies", Parsed::Bool(v)) => self.secure_cookies = Some(v),
            ("password_workers", Parsed::Count(v)) => {
                self.password_workers = Some(usize::try_from(v).unwrap_or(usize::MAX))
            }
            ("outbound_timeout", Parsed::Duration(v)) => self.outbound_timeout = v,
            ("tick_interval", Parsed::Duration(v)) => self.tick_interval = Some(v),
            ("reload_interval", Parsed::Duration(v)) => self.reload_interval = Some(v),
            ("max_login_failures_per_address", Parsed::Count(v)) => {
                self.max_login_failures_per_address = Some(u32::try_from(v).unwrap_or(u32::MAX))
            }
            ("metrics_allow", Parsed::Ranges(v)) => self.metrics_allow = Some(v),
            ("storage_reserve_mib", Parsed::Count(v)) => self.storage_reserve_mib = Some(v),
            ("fragment_cache_mib", Parsed::Count(v)) => self.fragment_cache_mib = Some(v),
            ("verify_store_on_start", Parsed::Bool(v)) => self.verify_store_on_start = Some(v),
            ("shutdown_grace", Parsed::Duration(v)) => self.shutdown_grace = v,
            ("backup_dir", Parsed::Path(v)) => self.backup_dir = Some(v),
            ("public_url", Parsed::Url(v)) => self.public_url = Some(v),
            ("header_read_timeout", Parsed::Duration(v)) => self.header_read_timeout = v,
            ("body_read_timeout", Parsed::Duration(v)) => self.body_read_timeout = v,
            ("idle_timeout", Parsed::Duration(v)) => self.idle_timeout = v,
            ("max_connections_per_address", Parsed::Count(v)) => {
                self.max_connections_per_address = Some(usize::try_from(v).unwrap_or(usize::MAX))
            }
            (key, _) => unreachable!("clé {key} : type incohérent avec KEYS"),
        }
    }

    /// The settings of a TOML file's text; `file` names it in messages and
    /// anchors its relative paths.
    pub fn from_toml(text: &str, file: &Path) -> Result<Settings> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            anyhow!(
                "{} : TOML invalide : {}",
                file.display(),
                e.message().trim()
            )
        })?;
        let base = file.parent().unwrap_or(Path::new(""));
        let mut settings = Settings::default();
        for (key, value) in &table {
            let Some((_, _, kind)) = KEYS.iter().find(|(k, _, _)| k == key) else {
                bail!(
                    "{} : clé inconnue « {key} » (clés possibles : {})",
                    file.display(),
                    keys().map(|(k, _)| k).collect::<Vec<_>>().join(", ")
                );
            };
            let parsed = Raw::Toml(value, base)
                .parse(*kind)
                .map_err(|e| anyhow!("{} : clé « {key} » : {e}", file.display()))?;
            settings.set(key, parsed);
        }
        Ok(settings)
    }

    /// The settings of the `PREAU_*` variables in `env` (unknown ones are ignored).
    pub fn from_env(env: &HashMap<String, String>) -> Result<Settings> {
        let mut settings = Settings::default();
        for (key, var, kind) in KEYS {
            let Some(value) = env.get(*var) else {
                continue;
            };
            let parsed = Raw::Env(value)
                .parse(*kind)
                .map_err(|e| anyhow!("variable d'environnement {var} : {e}"))?;
            settings.set(key, parsed);
        }
        Ok(settings)
    }

    /// `self`, completed by `lower` where `self` says nothing.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            addr: self.addr.or(lower.addr),
            data: self.data.or(lower.data),
            demo: self.demo.or(lower.demo),
            demo_file: self.demo_file.or(lower.demo_file),
            plugins: self.plugins.or(lower.plugins),
            wasm_dir: self.wasm_dir.or(lower.wasm_dir),
            theme: self.theme.or(lower.theme),
            cache: self.cache.or(lower.cache),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
            secure_cookies: self.secure_cookies.or(lower.secure_cookies),
            password_workers: self.password_workers.or(lower.password_workers),
            outbound_timeout: self.outbound_timeout.or(lower.outbound_timeout),
            tick_interval: self.tick_interval.or(lower.tick_interval),
            reload_interval: self.reload_interval.or(lower.reload_interval),
            max_login_failures_per_address: self
                .max_login_failures_per_address
                .or(lower.max_login_failures_per_address),
            metrics_allow: self.metrics_allow.or(lower.metrics_allow),
            storage_reserve_mib: self.storage_reserve_mib.or(lower.storage_reserve_mib),
            fragment_cache_mib: self.fragment_cache_mib.or(lower.fragment_cache_mib),
            verify_store_on_start: self.verify_store_on_start.or(lower.verify_store_on_start),
            shutdown_grace: self.shutdown_grace.or(lower.shutdown_grace),
            backup_dir: self.backup_dir.or(lower.backup_dir),
            public_url: self.public_url.or(lower.public_url),
            header_read_timeout: self.header_read_timeout.or(lower.header_read_timeout),
            body_read_timeout: self.body_read_timeout.or(lower.body_read_timeout),
            idle_timeout: self.idle_timeout.or(lower.idle_timeout),
            max_connections_per_address: self
                .max_connections_per_address
                .or(lower.max_connections_per_address),
        }
    }

    /// The listening address and the configuration: these settings over `defaults`.
    pub fn apply(self, defaults: Config) -> Serve {
        let mut config = defaults;
        let s = self;
        if let Some(v) = s.data {
            config.data_dir = v;
        }
        if let Some(v) = s.demo {
            config.demo = v;
        }
        if let Some(v) = s.demo_file {
            config.demo_file = v;
        }
        if let Some(v) = s.plugins {
            config.plugin_dirs = v;
        }
        if let Some(v) = s.wasm_dir {
            config.wasm_dir = v;
        }
        if let Some(v) = s.theme {
            config.theme_dir = v;
        }
        if let Some(v) = s.cache {
            config.cache_dir = v;
        }
        if let Some(v) = s.trusted_proxies {
            config.trusted_proxies = v;
        }
        if let Some(v) = s.secure_cookies {
            config.secure_cookies = v;
        }
        if let Some(v) = s.password_workers {
            config.password_workers = v;
        }
        if let Some(v) = s.outbound_timeout {
            config.outbound_timeout = v;
        }
        if let Some(v) = s.tick_interval {
            config.tick_interval = v;
        }
        if let Some(v) = s.reload_interval {
            config.reload_interval = v;
        }
        if let Some(v) = s.max_login_failures_per_address {
            config.max_login_failures_per_address = v;
        }
        if let Some(v) = s.metrics_allow {
            config.metrics_allow = v;
        }
        if let Some(v) = s.storage_reserve_mib {
            config.storage_reserve = v.saturating_mul(1 << 20);
        }
        if let Some(v) = s.fragment_cache_mib {
            config.fragment_cache_bytes =
                usize::try_from(v.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        }
        if let Some(v) = s.verify_store_on_start {
            config.verify_store_on_start = v;
        }
        if let Some(v) = s.shutdown_grace {
            config.shutdown_grace = v;
        }
        if let Some(v) = s.backup_dir {
            config.backup_dir = Some(v);
        }
        if let Some(v) = s.public_url {
            config.public_url = Some(v);
        }
        if let Some(v) = s.header_read_timeout {
            config.header_read_timeout = v;
        }
        if let Some(v) = s.body_read_timeout {
            config.body_read_timeout = v;
        }
        if let Some(v) = s.idle_timeout {
            config.idle_timeout = v;
        }
        if let Some(v) = s.max_connections_per_address {
            config.max_connections_per_address = v;
        }
        Serve {
            addr: s.addr.unwrap_or_else(|| DEFAULT_ADDR.to_string()),
            config,
        }
    }
}

/// What `preau serve` binds and serves.
#[derive(Clone, Debug)]
pub struct Serve {
    /// `HOST:PORT` to listen on.
    pub addr: String,
    /// The host's configuration.
    pub config: Config,
}

/// The configuration file to read: `--config`, else `PREAU_CONFIG`, else none.
pub fn config_file(cli: Option<&Path>, env: &HashMap<String, String>) -> Option<PathBuf> {
    cli.map(Path::to_path_buf).or_else(|| {
        env.get(CONFIG_ENV)
            .filter(|p| !p.trim().is_empty())
            .map(PathBuf::from)
    })
}

/// Resolves every source: `cli` over `env` over the file (`--config` or
/// `PREAU_CONFIG`, read here) over the defaults of a checkout at `cwd`.
pub fn load(
    cwd: &Path,
    cli: Settings,
    cli_config: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Serve> {
    let file = match config_file(cli_config, env) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("lecture du fichier de configuration {}", path.display())
            })?;
            Settings::from_toml(&text, &path)?
        }
        None => Settings::default(),
    };
    let env = Settings::from_env(env)?;
    Ok(cli.or(env).or(file).apply(Config::for_checkout(cwd)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve(cli: Settings, env_pairs: &[(&str, &str)], file: &str) -> Serve {
        let file = Settings::from_toml(file, Path::new("/etc/preau/preau.toml")).unwrap();
        let env = Settings::from_env(&env(env_pairs)).unwrap();
        cli.or(env)
            .or(file)
            .apply(Config::for_checkout(Path::new("/depot")))
    }

    #[test]
    fn without_anything_the_checkout_defaults_hold() {
        let serve = resolve(Settings::default(), &[], "");
        let defaults = Config::for_checkout(Path::new("/depot"));
        assert_eq!(serve.addr, DEFAULT_ADDR);
        assert_eq!(serve.config.data_dir, Path::new("/depot/data/db"));
        assert_eq!(
            serve.config.plugin_dirs,
            vec![PathBuf::from("/depot/plugins")]
        );
        assert_eq!(serve.config.wasm_dir, defaults.wasm_dir);
        assert_eq!(serve.config.metrics_allow, IpRange::loopback());
        assert_eq!(serve.config.tick_interval, defaults.tick_interval);
        assert_eq!(serve.config.shutdown_grace, Duration::from_secs(20));
        assert_eq!(serve.config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(serve.config.body_read_timeout, Duration::from_secs(30));
        assert_eq!(serve.config.idle_timeout, Duration::from_secs(60));
        assert_eq!(serve.config.max_connections_per_address, 256);
        assert_eq!(
            serve.config.backups_folder(),
            Path::new("/depot/data/sauvegardes")
        );
        assert!(!serve.config.demo);
    }

    #[test]
    fn command_line_beats_environment_beats_file() {
        let file = r#"
            addr = "0.0.0.0:80"
            data = "base"
            theme = "/srv/theme"
            plugins = ["services", "/opt/autres"]
            password_workers = 3
            tick_interval = "5min"
            reload_interval = 0
            metrics_allow = ["10.0.0.0/8", "::1"]
        "#;
        let environment = [
            ("PREAU_ADDR", "127.0.0.1:9000"),
            ("PREAU_DATA", "/var/lib/preau"),
            ("PREAU_PASSWORD_WORKERS", "5"),
            ("PREAU_PLUGINS", "/a:/b"),
            ("PREAU_OUTBOUND_TIMEOUT", "500ms"),
            ("PREAU_SKIP_BROWSER", "1"),
        ];
        let cli = Settings {
            addr: Some("127.0.0.1:7000".into()),
            ..Settings::default()
        };
        let serve = resolve(cli, &environment, file);
        assert_eq!(serve.addr, "127.0.0.1:7000", "command line first");
        assert_eq!(
            serve.config.data_dir,
            Path::new("/var/lib/preau"),
            "then env"
        );
        assert_eq!(serve.config.password_workers, 5);
        assert_eq!(
            serve.config.plugin_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")],
            "a list replaces the lower one's"
        );
        assert_eq!(serve.config.outbound_timeout, Duration::from_millis(500));
        // The file, its relative paths against its folder.
        assert_eq!(serve.config.theme_dir, Path::new("/srv/theme"));
        assert_eq!(serve.config.tick_interval, Some(Duration::from_secs(300)));
        assert_eq!(serve.config.reload_interval, None, "0 disables");
        assert_eq!(
            serve.config.metrics_allow,
            vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]
        );
        // The defaults under everything.
        assert_eq!(
            serve.config.cache_dir,
            Path::new("/depot/target/preau-cache")
        );

        let serve = resolve(Settings::default(), &[], file);
        assert_eq!(serve.addr, "0.0.0.0:80");
        assert_eq!(serve.config.data_dir, Path::new("/etc/preau/base"));
        assert_eq!(
            serve.config.plugin_dirs,
            vec![
                PathBuf::from("/etc/preau/services"),
                PathBuf::from("/opt/autres")
            ]
        );
        assert_eq!(serve.config.password_workers, 3);
    }

    #[test]
    fn every_key_can_be_set_in_the_file_and_the_environment() {
        let file = r#"
            addr = "[::1]:8443"
            data = "/d"
            demo = true
            demo_file = "/demo.toml"
            plugins = ["/p"]
            wasm_dir = "/w"
            theme = "/t"
            cache = "/c"
            trusted_proxies = ["10.0.0.2", "::1"]
            secure_cookies = true
            password_workers = 2
            outbound_timeout = 3
            tick_interval = "1h"
            reload_interval = "250ms"
            max_login_failures_per_address = 40
            metrics_allow = ["192.0.2.0/24"]
            shutdown_grace = "45s"
            storage_reserve_mib = 0
            fragment_cache_mib = 8
            verify_store_on_start = false
            backup_dir = "/s"
            public_url = "https://ent.exemple.fr"
            header_read_timeout = "5s"
            body_read_timeout = 20
            idle_timeout = "2min"
            max_connections_per_address = 64
        "#;
        let from_file = Settings::from_toml(file, Path::new("preau.toml")).unwrap();
        let from_env = Settings::from_env(&env(&[
            ("PREAU_ADDR", "[::1]:8443"),
            ("PREAU_DATA", "/d"),
            ("PREAU_DEMO", "oui"),
            ("PREAU_DEMO_FILE", "/demo.toml"),
            ("PREAU_PLUGINS", "/p"),
            ("PREAU_WASM_DIR", "/w"),
            ("PREAU_THEME", "/t"),
            ("PREAU_CACHE", "/c"),
            ("PREAU_TRUSTED_PROXIES", "10.0.0.2, ::1"),
            ("PREAU_SECURE_COOKIES", "1"),
            ("PREAU_PASSWORD_WORKERS", "2"),
            ("PREAU_OUTBOUND_TIMEOUT", "3"),
            ("PREAU_TICK_INTERVAL", "1h"),
            ("PREAU_RELOAD_INTERVAL", "250ms"),
            ("PREAU_MAX_LOGIN_FAILURES_PER_ADDRESS", "40"),
            ("PREAU_STORAGE_RESERVE_MIB", "0"),
            ("PREAU_FRAGMENT_CACHE_MIB", "8"),
            ("PREAU_VERIFY_STORE_ON_START", "non"),
            ("PREAU_METRICS_ALLOW", "192.0.2.0/24"),
            ("PREAU_SHUTDOWN_GRACE", "45"),
            ("PREAU_BACKUP_DIR", "/s"),
            ("PREAU_PUBLIC_URL", "https://ent.exemple.fr"),
            ("PREAU_HEADER_READ_TIMEOUT", "5"),
            ("PREAU_BODY_READ_TIMEOUT", "20s"),
            ("PREAU_IDLE_TIMEOUT", "120"),
            ("PREAU_MAX_CONNECTIONS_PER_ADDRESS", "64"),
        ]))
        .unwrap();
        assert_eq!(from_file, from_env);
        assert!(KEYS.iter().all(|(k, _, _)| {
            file.lines()
                .any(|l| l.trim().starts_with(&format!("{k} =")))
        }));
        let serve = from_file.apply(Config::for_checkout(Path::new("/depot")));
        assert!(serve.config.demo && serve.config.secure_cookies);
        assert_eq!(serve.config.max_login_failures_per_address, 40);
        assert_eq!(
            serve.config.reload_interval,
            Some(Duration::from_millis(250))
        );
        assert_eq!(serve.config.trusted_proxies.len(), 2);
        assert_eq!(serve.config.shutdown_grace, Duration::from_secs(45));
        assert_eq!(serve.config.storage_reserve, 0);
        assert_eq!(serve.config.fragment_cache_bytes, 8 << 20);
        assert!(!serve.config.verify_store_on_start);
        assert_eq!(serve.config.backups_folder(), Path::new("/s"));
        assert!(serve.config.public_url_is_https() && serve.config.https());
        assert_eq!(serve.config.header_read_timeout, Duration::from_secs(5));
        assert_eq!(serve.config.body_read_timeout, Duration::from_secs(20));
        assert_eq!(serve.config.idle_timeout, Duration::from_secs(120));
        assert_eq!(serve.config.max_connections_per_address, 64);
    }

    #[test]
    fn errors_name_the_key_and_the_file() {
        let file = Path::new("/etc/preau/preau.toml");
        let error = |text: &str| Settings::from_toml(text, file).unwrap_err().to_string();
        let unknown = error("adresse = \"x\"");
        assert!(unknown.contains("clé inconnue « adresse »"), "{unknown}");
        assert!(unknown.contains("/etc/preau/preau.toml"), "{unknown}");
        assert!(unknown.contains("addr"), "lists the known keys: {unknown}");
        let bad = error("password_workers = \"deux\"");
        assert!(
            bad.contains("/etc/preau/preau.toml") && bad.contains("« password_workers »"),
            "{bad}"
        );
        let bad = error("metrics_allow = [\"10.0.0.0/40\"]");
        assert!(
            bad.contains("« metrics_allow »") && bad.contains("/40"),
            "{bad}"
        );
        let bad = error("trusted_proxies = \"10.0.0.1\"");
        assert!(bad.contains("liste attendue"), "{bad}");
        let bad = error("outbound_timeout = 0");
        assert!(bad.contains("« outbound_timeout »"), "{bad}");
        let bad = error("shutdown_grace = 0");
        assert!(bad.contains("« shutdown_grace »"), "{bad}");
        let bad = error("public_url = \"ent.exemple.fr\"");
        assert!(bad.contains("« public_url »"), "{bad}");
        let bad = error("addr = ");
        assert!(bad.contains("TOML invalide"), "{bad}");

        let bad = Settings::from_env(&env(&[("PREAU_TICK_INTERVAL", "souvent")]))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("PREAU_TICK_INTERVAL"), "{bad}");
        let bad = Settings::from_env(&env(&[("PREAU_TRUSTED_PROXIES", "proxy.lan")]))
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("PREAU_TRUSTED_PROXIES") && bad.contains("proxy.lan"),
            "{bad}"
        );
    }

    #[test]
    fn the_file_comes_from_the_command_line_then_the_environment() {
        let vars = env(&[(CONFIG_ENV, "/etc/preau.toml")]);
        assert_eq!(
            config_file(Some(Path::new("ici.toml")), &vars),
            Some(PathBuf::from("ici.toml"))
        );
        assert_eq!(
            config_file(None, &vars),
            Some(PathBuf::from("/etc/preau.toml"))
        );
        assert_eq!(config_file(None, &HashMap::new()), None);
        let missing = load(
            Path::new("/depot"),
            Settings::default(),
            Some(Path::new("/nulle/part.toml")),
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(format!("{missing:#}").contains("/nulle/part.toml"));
    }

    #[test]
    fn durations_are_written_with_units() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("8 s"), Ok(Duration::from_secs(8)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("").is_err());
    }
}
