//! `aerie audit verify`: walks every organisation's audit chain (docs/AUDIT.md).

use std::sync::{Arc, Mutex};

use aerie_backend::config::Config;
use aerie_backend::services::audit;

use super::AuditCommand;
use super::billing::with_context;
use crate::startup::StartupError;

pub async fn run(config: Config, cmd: AuditCommand) -> Result<(), StartupError> {
    match cmd {
        AuditCommand::Verify => verify(config).await,
    }
}

async fn verify(config: Config) -> Result<(), StartupError> {
    let found = Arc::new(Mutex::new(None));
    let sink = found.clone();
    with_context(config, |ctx| async move {
        let v = audit::verify(&ctx).await?;
        if let Ok(mut slot) = sink.lock() {
            *slot = Some(v);
        }
        Ok(())
    })
    .await?;
    let Some(v) = found.lock().ok().and_then(|mut slot| slot.take()) else {
        return Err(StartupError::Refused(
            "the verification did not run".to_owned(),
        ));
    };
    for problem in &v.problems {
        println!("{problem}");
    }
    println!(
        "{} events in {} chains checked{}",
        v.events,
        v.chains,
        if v.unchained > 0 {
            format!(
                "; {} events from before the chain began cannot be verified",
                v.unchained
            )
        } else {
            String::new()
        }
    );
    if v.problems.is_empty() {
        println!("the audit trail is intact");
        Ok(())
    } else {
        Err(StartupError::Refused(format!(
            "the audit trail was tampered with: {} problem(s), listed above",
            v.problems.len()
        )))
    }
}
