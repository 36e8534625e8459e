//! `preau serve [OPTIONS]`, `preau plugin check|install PAQUET`: reads the
//! command line ([`preau_host::cli`]), binds, builds the app
//! ([`preau_host::build`]), announces the address once it serves, and serves
//! until SIGTERM or SIGINT ([`preau_host::serve_app_until`], then
//! [`preau_host::App::close`]). `preau --help` lists everything (in French).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use preau_host::cli::{self, Command, ServeArgs};

/// Pages allocate many small, short-lived values; glibc's allocator spent a
/// quarter of a page's CPU on them (BENCHMARKS.md, pages).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(error) => return cli::report(&error),
    };
    tracing_subscriber::fmt().with_target(false).init();
    let result = match &cli.command {
        Command::Serve(args) => serve(args),
        Command::Plugin(command) => std::env::current_dir()
            .context("dossier courant")
            .and_then(|cwd| cli::plugin(command, &cwd, &cli::environment())),
        Command::Backup(args) => std::env::current_dir()
            .context("dossier courant")
            .and_then(|cwd| cli::backup(args, &cwd, &cli::environment())),
        Command::Restore(args) => cli::restore(args),
        Command::Store(command) => {
            let checked = std::env::current_dir()
                .context("dossier courant")
                .and_then(|cwd| cli::store(command, &cwd, &cli::environment()));
            match checked {
                Ok(true) => Ok(()),
                Ok(false) => {
                    return ExitCode::from(preau_host::store::identity::REFUSED_EXIT_CODE);
                }
                Err(error) => Err(error),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("erreur : {error:#}");
            cli::failure_code(&error)
        }
    }
}

fn serve(args: &ServeArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("dossier courant")?;
    let serve = args.resolve(&cwd, &cli::environment())?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&serve.addr)
            .await
            .with_context(|| format!("impossible d'écouter sur {}", serve.addr))?;
        // Database opened, plugins loaded, seeded: only then is the address
        // announced. Until then a signal ends the process at once (the store
        // survives that); from now on it stops it gracefully.
        let app = preau_host::build(serve.config).await?;
        let stop = stop_signal()?;
        println!("Préau : http://{}/", listener.local_addr()?);
        std::io::stdout().flush().context("sortie standard")?;
        let stopped = preau_host::serve_app_until(listener, app.clone(), stop).await?;
        app.close().await?;
        let cut = match stopped.cut {
            0 => String::new(),
            n => format!(", {n} coupée(s) à la fin du délai de grâce"),
        };
        println!(
            "Arrêt demandé : {} requête(s) en cours terminée(s){cut}, base fermée.",
            stopped.finished()
        );
        std::io::stdout().flush().context("sortie standard")?;
        Ok(())
    });
    // Work still running past the grace period (a cut request's blocking
    // part) does not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Completes at the first SIGTERM or SIGINT; a second one ends the process
/// at once (every acknowledged write is already on disk).
fn stop_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("signal SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("signal SIGINT")?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} reçu : arrêt en cours (un second signal arrête sans attendre)");
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
            eprintln!("second signal : arrêt immédiat, requêtes en cours coupées");
            std::process::exit(1);
        });
    })
}
