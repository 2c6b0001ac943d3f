//! `seedwatch run`: load and validate the config, start, and shut down on SIGINT/SIGTERM
//! (a second signal exits at once).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use seedwatch_collector::app::RunningCollector;
use seedwatch_collector::config::Settings;
use seedwatch_collector::pipeline::DrainOutcome;

pub(super) fn run(config: Option<&Path>) -> ExitCode {
    let settings = match config {
        Some(path) => Settings::load_file(path),
        None => Settings::load_embedded(),
    };
    let settings = match settings {
        Ok(s) => s,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    super::logging::init(&settings.config.service.log);
    tracing::info!(config = %settings.source, version = env!("CARGO_PKG_VERSION"), "starting seedwatch");
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    match serve(settings) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("seedwatch: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let running = RunningCollector::start(settings).await?;
        let token = running.shutdown_token();
        tokio::spawn(async move {
            if wait_for_signal().await.is_err() {
                return;
            }
            tracing::info!("signal received: shutting down gracefully (send another to exit at once)");
            token.cancel();
            if wait_for_signal().await.is_ok() {
                tracing::warn!("second signal: exiting at once without draining");
                std::process::exit(130);
            }
        });
        Ok(match running.wait().await {
            DrainOutcome::Drained => ExitCode::SUCCESS,
            DrainOutcome::DeadlineExceeded { .. } => ExitCode::FAILURE,
        })
    })
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
