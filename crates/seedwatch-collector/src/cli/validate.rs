//! `seedwatch validate -c FILE`.

use std::path::Path;
use std::process::ExitCode;

use seedwatch_collector::config::Settings;

pub(super) fn validate(path: &Path) -> ExitCode {
    match Settings::load_file(path) {
        Ok(settings) => {
            let exporters: Vec<_> = settings.exporters.iter().map(|e| e.name.as_str()).collect();
            let processors: Vec<_> = settings.processors.iter().map(|p| p.name.as_str()).collect();
            println!(
                "{}: valid (processors: [{}], exporters: [{}])",
                path.display(),
                processors.join(", "),
                exporters.join(", ")
            );
            for warning in settings.warnings() {
                println!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
