//! `preau serve [OPTIONS]`, `preau plugin check|install PAQUET`: reads the
//! command line ([`preau_host::cli`]), binds, and hands over to
//! [`preau_host::serve`]. `preau --help` lists everything (in French).

use std::process::ExitCode;

use anyhow::{Context, Result};
use preau_host::cli::{self, Command, ServeArgs};

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
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&serve.addr)
            .await
            .with_context(|| format!("impossible d'écouter sur {}", serve.addr))?;
        println!("Préau : http://{}/", listener.local_addr()?);
        preau_host::serve(listener, serve.config).await
    })
}
