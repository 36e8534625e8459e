//! The `preau` command line: `preau serve`, `preau plugin check|install`.
//!
//! clap (derive) gives the structure; [`command`] then dresses every command
//! in French: help template, usage lines, a French `-h, --help`, headings,
//! and [`error_message`] rewrites clap's errors. The binary (`main.rs`) only
//! parses, binds and hands over; everything here is testable.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::settings::{self, Serve, Settings};

// `preau` (plain comments on the derived types: doc comments would become
// help text; the French help is in the attributes and on the options).
#[derive(Debug, Parser)]
#[command(
    name = "preau",
    version,
    about = "Préau : l'espace numérique de travail d'une région, ses établissements et leurs services.",
    subcommand_required = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// The subcommands (parsed once per process: the size of `serve`'s options does not matter).
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Sert le portail (HTTP) jusqu'à l'arrêt du processus
    Serve(ServeArgs),
    /// Paquets de plugins : vérification, installation
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Sauvegarde cohérente de la base, serveur en marche ou arrêté
    Backup(BackupArgs),
    /// Restaure une sauvegarde dans un dossier vide
    Restore(RestoreArgs),
    /// Base de données : vérification complète
    #[command(subcommand)]
    Store(StoreCommand),
}

// `preau backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Dossier de la base (défaut : celui de la configuration, ./data/db ; PREAU_DATA)
    #[arg(long, value_name = "DOSSIER")]
    pub data: Option<PathBuf>,
    /// Fichier de sauvegarde à écrire (remplacé s'il existe)
    #[arg(long, value_name = "FICHIER")]
    pub to: PathBuf,
    /// Fichier de configuration TOML (PREAU_CONFIG)
    #[arg(long, value_name = "FICHIER")]
    pub config: Option<PathBuf>,
}

// `preau restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// La sauvegarde à restaurer
    #[arg(value_name = "FICHIER")]
    pub file: PathBuf,
    /// Dossier neuf (absent ou vide) où restaurer la base
    #[arg(long, value_name = "DOSSIER")]
    pub data: PathBuf,
}

// `preau store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Relit toute la base et vérifie sa cohérence (serveur arrêté)
    Check {
        /// Dossier de la base (défaut : celui de la configuration ; PREAU_DATA)
        #[arg(long, value_name = "DOSSIER")]
        data: Option<PathBuf>,
        /// Fichier de configuration TOML (PREAU_CONFIG)
        #[arg(long, value_name = "FICHIER")]
        config: Option<PathBuf>,
    },
}

// `preau serve`: every option also has a `PREAU_*` variable and a key of
// the configuration file (command line > environment > file > defaults).
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Adresse d'écoute (défaut 127.0.0.1:8080 ; PREAU_ADDR)
    #[arg(long, value_name = "HOTE:PORT")]
    pub addr: Option<String>,
    /// Dossier de la base de données (défaut ./data/db ; PREAU_DATA)
    #[arg(long, value_name = "DOSSIER")]
    pub data: Option<PathBuf>,
    /// Crée la région de démonstration (une seule fois)
    #[arg(long)]
    pub demo: bool,
    /// Fichier des données de démonstration (défaut ./data/demo.toml)
    #[arg(long, value_name = "FICHIER")]
    pub demo_file: Option<PathBuf>,
    /// Proxy inverse dont l'en-tête X-Forwarded-For donne l'adresse du client (répétable ; sans cette option, l'en-tête est ignoré)
    #[arg(long = "trusted-proxy", value_name = "IP", value_parser = parse_ip)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Dossier dont chaque sous-dossier est un plugin (répétable ; défaut ./plugins ; PREAU_PLUGINS, séparés par « : »)
    #[arg(long, value_name = "DOSSIER")]
    pub plugins: Vec<PathBuf>,
    /// Dossier des composants compilés <id>.wasm (défaut ./target/wasm32-wasip2/release)
    #[arg(long, value_name = "DOSSIER")]
    pub wasm_dir: Option<PathBuf>,
    /// Dossier du thème : templates/ et static/ (défaut ./themes/default)
    #[arg(long, value_name = "DOSSIER")]
    pub theme: Option<PathBuf>,
    /// Cache des composants précompilés (défaut ./target/preau-cache)
    #[arg(long, value_name = "DOSSIER")]
    pub cache: Option<PathBuf>,
    /// À l'arrêt (SIGTERM, SIGINT), temps laissé aux requêtes en cours pour finir, ex. 20, "30s", "1min" (défaut 20 s ; PREAU_SHUTDOWN_GRACE)
    #[arg(long, value_name = "DURÉE", value_parser = parse_grace)]
    pub shutdown_grace: Option<Duration>,
    /// Dossier des sauvegardes programmées (défaut : « sauvegardes » à côté du dossier de la base ; PREAU_BACKUP_DIR)
    #[arg(long, value_name = "DOSSIER")]
    pub backup_dir: Option<PathBuf>,
    /// Temps laissé à un client pour envoyer les en-têtes d'une requête, et à une connexion inactive pour en envoyer une nouvelle (défaut 10 s ; PREAU_HEADER_READ_TIMEOUT)
    #[arg(long, value_name = "DURÉE", value_parser = parse_grace)]
    pub header_read_timeout: Option<Duration>,
    /// Temps laissé à un client pour envoyer tout le corps d'une requête (défaut 30 s ; PREAU_BODY_READ_TIMEOUT)
    #[arg(long, value_name = "DURÉE", value_parser = parse_grace)]
    pub body_read_timeout: Option<Duration>,
    /// Une connexion où rien ne passe pendant cette durée, hors requête en cours de traitement, est fermée (défaut 60 s ; PREAU_IDLE_TIMEOUT)
    #[arg(long, value_name = "DURÉE", value_parser = parse_grace)]
    pub idle_timeout: Option<Duration>,
    /// Connexions simultanées admises depuis une même adresse de client, au-delà refusées ; une école derrière un seul NAT la partage (défaut 256 ; les proxys de confiance ne sont pas comptés ; PREAU_MAX_CONNECTIONS_PER_ADDRESS)
    #[arg(long, value_name = "NOMBRE", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: Option<u32>,
    /// Adresse publique du portail, ex. https://ent.exemple.fr : en https, cookies « Secure » et en-tête HSTS ; l'origine des formulaires envoyés y est comparée (PREAU_PUBLIC_URL)
    #[arg(long, value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Fichier de configuration TOML (PREAU_CONFIG)
    #[arg(long, value_name = "FICHIER")]
    pub config: Option<PathBuf>,
}

// `preau plugin …`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Vérifie un paquet de plugin sans l'installer
    Check {
        /// Le paquet du plugin
        #[arg(value_name = "PAQUET")]
        bundle: PathBuf,
    },
    /// Installe un paquet de plugin dans le premier dossier de plugins
    Install {
        /// Le paquet du plugin
        #[arg(value_name = "PAQUET")]
        bundle: PathBuf,
        /// Dossier de plugins où l'installer (défaut : le premier de la configuration)
        #[arg(long, value_name = "DOSSIER")]
        plugins: Option<PathBuf>,
        /// Fichier de configuration TOML (dossiers des plugins et des composants ; PREAU_CONFIG)
        #[arg(long, value_name = "FICHIER")]
        config: Option<PathBuf>,
    },
}

fn parse_grace(text: &str) -> Result<Duration, String> {
    match settings::parse_duration(text)? {
        d if d.is_zero() => Err("durée nulle".into()),
        d => Ok(d),
    }
}

/// Checked as [`settings::parse_public_url`] does, kept as text (small `ServeArgs`).
fn parse_public_url(text: &str) -> Result<String, String> {
    settings::parse_public_url(text).map(|_| text.trim().to_string())
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("« {text} » n'est pas une adresse IP"))
}

impl ServeArgs {
    /// What the command line says (`None` where it says nothing).
    pub fn settings(&self) -> Settings {
        let list = |v: &Vec<PathBuf>| (!v.is_empty()).then(|| v.clone());
        Settings {
            addr: self.addr.clone(),
            data: self.data.clone(),
            demo: self.demo.then_some(true),
            demo_file: self.demo_file.clone(),
            plugins: list(&self.plugins),
            wasm_dir: self.wasm_dir.clone(),
            theme: self.theme.clone(),
            cache: self.cache.clone(),
            backup_dir: self.backup_dir.clone(),
            trusted_proxies: (!self.trusted_proxies.is_empty())
                .then(|| self.trusted_proxies.clone()),
            shutdown_grace: self.shutdown_grace,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            idle_timeout: self.idle_timeout,
            max_connections_per_address: self.max_connections_per_address.map(|n| n as usize),
            // Checked by clap already (`parse_public_url`).
            public_url: self
                .public_url
                .as_deref()
                .and_then(|url| settings::parse_public_url(url).ok()),
            ..Settings::default()
        }
    }

    /// The address and configuration to serve: this command line over `env`
    /// over the configuration file over the defaults of a checkout at `cwd`.
    pub fn resolve(&self, cwd: &Path, env: &HashMap<String, String>) -> Result<Serve> {
        settings::load(cwd, self.settings(), self.config.as_deref(), env)
    }
}

/// Help page layout: clap's, with French headings.
const TEMPLATE: &str =
    "{before-help}{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}";

/// The `preau` command, every (sub)command in French.
pub fn command() -> clap::Command {
    let root = french(Cli::command())
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Affiche la version"),
        )
        .override_usage(
            "preau serve [OPTIONS]\n              preau plugin check PAQUET\n              preau plugin install PAQUET [OPTIONS]\n              preau backup --to FICHIER [--data DOSSIER]\n              preau restore FICHIER --data DOSSIER\n              preau store check [--data DOSSIER]",
        )
        .after_help(
            "Chaque option de « serve » a sa variable d'environnement PREAU_… et sa clé dans le \
             fichier --config ;\nla ligne de commande l'emporte sur l'environnement, qui l'emporte \
             sur le fichier.\nAide d'une commande : preau serve --help, preau plugin --help.",
        );
    root.mut_subcommand("serve", |c| c.override_usage("preau serve [OPTIONS]"))
        .mut_subcommand("plugin", |c| {
            c.override_usage(
                "preau plugin check PAQUET\n              preau plugin install PAQUET [OPTIONS]",
            )
            .mut_subcommand("check", |c| c.override_usage("preau plugin check PAQUET"))
            .mut_subcommand("install", |c| {
                c.override_usage("preau plugin install PAQUET [OPTIONS]")
            })
        })
        .mut_subcommand("backup", |c| {
            c.override_usage("preau backup --to FICHIER [--data DOSSIER]")
        })
        .mut_subcommand("restore", |c| {
            c.override_usage("preau restore FICHIER --data DOSSIER")
        })
        .mut_subcommand("store", |c| {
            c.override_usage("preau store check [--data DOSSIER]")
                .mut_subcommand("check", |c| {
                    c.override_usage("preau store check [--data DOSSIER]")
                })
        })
}

/// A French help flag, template and headings on `cmd` and its subcommands.
fn french(cmd: clap::Command) -> clap::Command {
    cmd.help_template(TEMPLATE)
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .arg(
            Arg::new("aide")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Affiche cette aide"),
        )
        .mut_subcommands(french)
}

/// Parses `args` (the program name first).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The French text of a parse error (help and version requests are their own text).
pub fn error_message(error: &clap::Error) -> String {
    let context = |kind: ContextKind| {
        error
            .get(kind)
            .map(|value| value.to_string())
            .unwrap_or_default()
    };
    let arg = context(ContextKind::InvalidArg);
    let value = context(ContextKind::InvalidValue);
    let message = match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => return error.render().to_string(),
        ErrorKind::UnknownArgument => format!("argument inattendu « {arg} »"),
        ErrorKind::InvalidSubcommand => {
            format!(
                "commande inconnue « {} »",
                context(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::InvalidValue if value.is_empty() => format!("{arg} attend une valeur"),
        ErrorKind::InvalidValue => format!(
            "valeur « {value} » invalide pour {arg} (valeurs possibles : {})",
            context(ContextKind::ValidValue)
        ),
        ErrorKind::ValueValidation => match std::error::Error::source(error) {
            Some(cause) => format!("{arg} : {cause}"),
            None => format!("valeur « {value} » invalide pour {arg}"),
        },
        ErrorKind::MissingRequiredArgument => {
            format!("argument obligatoire manquant : {arg}")
        }
        ErrorKind::MissingSubcommand => "commande manquante".to_string(),
        ErrorKind::ArgumentConflict if context(ContextKind::PriorArg) == arg => {
            format!("{arg} ne peut être donné qu'une fois")
        }
        ErrorKind::ArgumentConflict => format!(
            "{arg} ne peut pas être utilisé avec {}",
            context(ContextKind::PriorArg)
        ),
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues => format!("nombre de valeurs incorrect pour {arg}"),
        ErrorKind::InvalidUtf8 => "argument qui n'est pas de l'UTF-8".to_string(),
        _ => "ligne de commande invalide".to_string(),
    };
    let usage = context(ContextKind::Usage);
    let usage = usage.trim();
    let usage = usage
        .strip_prefix("Usage:")
        .map(|u| format!("Utilisation :{u}"))
        .unwrap_or_else(|| usage.to_string());
    if usage.is_empty() {
        format!("erreur : {message}\n\nPour en savoir plus : --help\n")
    } else {
        format!("erreur : {message}\n\n{usage}\n\nPour en savoir plus : --help\n")
    }
}

/// Prints a parse error (or the help asked for) and the exit code to return:
/// 0 for `--help`/`--version`, 2 for a wrong command line.
pub fn report(error: &clap::Error) -> ExitCode {
    let text = error_message(error);
    if error.use_stderr() {
        eprint!("{text}");
        ExitCode::from(2)
    } else {
        print!("{text}");
        ExitCode::SUCCESS
    }
}

/// The process environment, as [`settings`] reads it (variables that are not
/// UTF-8 are left out).
pub fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Runs `preau plugin …`.
pub fn plugin(command: &PluginCommand, cwd: &Path, env: &HashMap<String, String>) -> Result<()> {
    match command {
        PluginCommand::Check { bundle } => {
            let serve = settings::load(cwd, Settings::default(), None, env)?;
            check_bundle(bundle, &serve.config)
        }
        PluginCommand::Install {
            bundle,
            plugins,
            config,
        } => {
            let serve = settings::load(cwd, Settings::default(), config.as_deref(), env)?;
            install_bundle(bundle, plugins.as_deref(), &serve.config)
        }
    }
}

/// The data folder of `preau backup` / `preau store check`: the option, else
/// the configuration's (file, `PREAU_DATA`, default).
fn data_dir(
    data: Option<&Path>,
    config: Option<&Path>,
    cwd: &Path,
    env: &HashMap<String, String>,
) -> Result<PathBuf> {
    let cli = Settings {
        data: data.map(Path::to_path_buf),
        ..Settings::default()
    };
    Ok(settings::load(cwd, cli, config, env)?.config.data_dir)
}

/// Runs `preau backup`.
pub fn backup(args: &BackupArgs, cwd: &Path, env: &HashMap<String, String>) -> Result<()> {
    let data = data_dir(args.data.as_deref(), args.config.as_deref(), cwd, env)?;
    println!("{}", crate::backup::backup(&data, &args.to)?);
    Ok(())
}

/// Runs `preau restore`.
pub fn restore(args: &RestoreArgs) -> Result<()> {
    println!("{}", crate::backup::restore(&args.file, &args.data)?);
    Ok(())
}

/// Runs `preau store check`: Ok(false) when the report lists problems.
pub fn store(command: &StoreCommand, cwd: &Path, env: &HashMap<String, String>) -> Result<bool> {
    match command {
        StoreCommand::Check { data, config } => {
            let data = data_dir(data.as_deref(), config.as_deref(), cwd, env)?;
            let (report, consistent) = crate::backup::check(&data)?;
            print!("{report}");
            Ok(consistent)
        }
    }
}

/// The exit code of a failed command: [`crate::store::identity::REFUSED_EXIT_CODE`]
/// when the data folder was refused, 1 otherwise.
pub fn failure_code(error: &anyhow::Error) -> ExitCode {
    if error
        .chain()
        .any(|e| e.downcast_ref::<crate::store::Refusal>().is_some())
    {
        ExitCode::from(crate::store::identity::REFUSED_EXIT_CODE)
    } else {
        ExitCode::FAILURE
    }
}

/// The theme a bundle's templates are compiled beside, when its folder exists.
fn theme_of(config: &crate::Config) -> Option<&Path> {
    Some(config.theme_dir.as_path()).filter(|dir| dir.join("templates").is_dir())
}

/// `preau plugin check PAQUET`: what the bundle holds, or every problem (exit 1).
fn check_bundle(bundle: &Path, config: &crate::Config) -> Result<()> {
    match crate::bundle::check(bundle, theme_of(config)) {
        Ok(report) => {
            println!(
                "Paquet valide : {}
{report}",
                bundle.display()
            );
            Ok(())
        }
        Err(problems) => bail!("paquet refusé : {}\n{problems}", bundle.display()),
    }
}

/// `preau plugin install PAQUET`: checked, then moved into `plugins` (else the
/// configuration's first plugin folder), where a running host loads it.
fn install_bundle(bundle: &Path, plugins: Option<&Path>, config: &crate::Config) -> Result<()> {
    let target = plugins
        .or(config.plugin_dirs.first().map(PathBuf::as_path))
        .context("aucun dossier de plugins : --plugins DOSSIER")?;
    let report = crate::bundle::install(bundle, target, theme_of(config))?;
    println!(
        "Plugin « {} » installé dans {} : un serveur Préau qui lit ce dossier le charge sans redémarrer ; activez-le ensuite dans Administration.\n{report}",
        report.manifest.name,
        target.join(&report.manifest.id).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(args: &[&str]) -> String {
        let error = parse(args.iter().copied()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::DisplayHelp, "{args:?}");
        assert!(!error.use_stderr());
        error_message(&error)
    }

    fn error(args: &[&str]) -> String {
        let error = parse(args.iter().copied()).unwrap_err();
        assert!(error.use_stderr(), "{args:?}");
        error_message(&error)
    }

    /// Words of clap's English chrome that must not appear.
    const ENGLISH: &[&str] = &[
        "Usage",
        "Print",
        "Commands:",
        "error:",
        "tip:",
        "For more",
        "help for",
    ];

    fn assert_french(text: &str) {
        for word in ENGLISH {
            assert!(!text.contains(word), "« {word} » dans :\n{text}");
        }
    }

    #[test]
    fn the_help_is_french_and_lists_the_commands() {
        let text = help(&["preau", "--help"]);
        assert_french(&text);
        for expected in [
            "Utilisation :",
            "Commandes:",
            "serve",
            "plugin",
            "Affiche cette aide",
        ] {
            assert!(text.contains(expected), "{expected} manque :\n{text}");
        }
        assert_eq!(help(&["preau", "-h"]), text);
        let serve = help(&["preau", "serve", "--help"]);
        assert_french(&serve);
        for option in [
            "--addr <HOTE:PORT>",
            "--data <DOSSIER>",
            "--demo",
            "--trusted-proxy <IP>",
            "--plugins <DOSSIER>",
            "--wasm-dir <DOSSIER>",
            "--theme <DOSSIER>",
            "--cache <DOSSIER>",
            "--backup-dir <DOSSIER>",
            "--demo-file <FICHIER>",
            "--config <FICHIER>",
            "Utilisation : preau serve [OPTIONS]",
        ] {
            assert!(serve.contains(option), "{option} manque :\n{serve}");
        }
        let plugin = help(&["preau", "plugin", "--help"]);
        assert_french(&plugin);
        assert!(
            plugin.contains("check") && plugin.contains("install"),
            "{plugin}"
        );
        let check = help(&["preau", "plugin", "check", "--help"]);
        assert_french(&check);
        assert!(check.contains("<PAQUET>"), "{check}");
    }

    #[test]
    fn errors_are_french() {
        let unknown = error(&["preau", "serve", "--adresse", "x"]);
        assert_french(&unknown);
        assert!(
            unknown.starts_with("erreur : argument inattendu « --adresse »"),
            "{unknown}"
        );
        assert!(
            unknown.contains("Utilisation : preau serve [OPTIONS]"),
            "{unknown}"
        );
        let command = error(&["preau", "servir"]);
        assert_french(&command);
        assert!(command.contains("« servir »"), "{command}");
        let missing = error(&["preau"]);
        assert_french(&missing);
        let ip = error(&["preau", "serve", "--trusted-proxy", "proxy.lan"]);
        assert_french(&ip);
        assert!(
            ip.contains("« proxy.lan » n'est pas une adresse IP"),
            "{ip}"
        );
        let value = error(&["preau", "serve", "--addr"]);
        assert_french(&value);
        assert!(value.contains("--addr"), "{value}");
        let twice = error(&["preau", "serve", "--addr", "a:1", "--addr", "b:2"]);
        assert_french(&twice);
        let bundle = error(&["preau", "plugin", "check"]);
        assert_french(&bundle);
        assert!(bundle.contains("PAQUET"), "{bundle}");
    }

    #[test]
    fn serve_keeps_its_options() {
        let cli = parse([
            "preau",
            "serve",
            "--addr",
            "0.0.0.0:80",
            "--data",
            "/d",
            "--demo",
            "--trusted-proxy",
            "10.0.0.2",
            "--trusted-proxy",
            "::1",
            "--plugins",
            "/p1",
            "--plugins",
            "/p2",
            "--wasm-dir",
            "/w",
            "--theme",
            "/t",
            "--cache",
            "/c",
            "--demo-file",
            "/demo.toml",
            "--shutdown-grace",
            "1min",
            "--backup-dir",
            "/s",
            "--header-read-timeout",
            "3s",
            "--max-connections-per-address",
            "32",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve attendu");
        };
        let serve = args.resolve(Path::new("/depot"), &HashMap::new()).unwrap();
        assert_eq!(serve.addr, "0.0.0.0:80");
        let config = serve.config;
        assert_eq!(config.data_dir, Path::new("/d"));
        assert!(config.demo);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(
            config.plugin_dirs,
            vec![PathBuf::from("/p1"), PathBuf::from("/p2")]
        );
        assert_eq!(config.wasm_dir, Path::new("/w"));
        assert_eq!(config.theme_dir, Path::new("/t"));
        assert_eq!(config.cache_dir, Path::new("/c"));
        assert_eq!(config.demo_file, Path::new("/demo.toml"));
        assert_eq!(config.shutdown_grace, Duration::from_secs(60));
        assert_eq!(config.header_read_timeout, Duration::from_secs(3));
        assert_eq!(config.max_connections_per_address, 32);
        assert_eq!(config.backups_folder(), Path::new("/s"));
        // Nothing given: a checkout's defaults, as before.
        let Command::Serve(args) = parse(["preau", "serve"]).unwrap().command else {
            panic!("serve attendu");
        };
        let serve = args.resolve(Path::new("/depot"), &HashMap::new()).unwrap();
        assert_eq!(serve.addr, settings::DEFAULT_ADDR);
        assert_eq!(
            serve.config.plugin_dirs,
            vec![PathBuf::from("/depot/plugins")]
        );
    }

    #[test]
    fn a_missing_bundle_is_named() {
        for args in [
            ["preau", "plugin", "check", "blog.preau"],
            ["preau", "plugin", "install", "blog.preau"],
        ] {
            let Command::Plugin(command) = parse(args).unwrap().command else {
                panic!("plugin attendu");
            };
            let error = plugin(&command, Path::new("/depot"), &HashMap::new()).unwrap_err();
            assert!(
                format!("{error:#}").contains("blog.preau n'est pas un dossier de plugin"),
                "{error:#}"
            );
        }
    }
}
