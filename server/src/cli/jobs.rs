//! `aerie jobs …`: the background jobs of every organisation, from the server's shell.

use aerie_backend::config::Config;
use aerie_backend::services::jobs;
use aerie_contract::JobStatus;
use aerie_contract::ids::JobId;

use super::JobsCommand;
use crate::startup::{StartupError, build_state};

fn print_table(rows: &[jobs::JobView]) {
    println!(
        "{:<36}  {:<20}  {:<10}  {:<8}  {:<16}  ERROR",
        "ID", "KIND", "STATUS", "ATTEMPTS", "UPDATED"
    );
    for j in rows {
        println!(
            "{:<36}  {:<20}  {:<10}  {:<8}  {:<16}  {}",
            j.id,
            j.kind,
            j.status,
            format!("{}/{}", j.attempts, j.max_attempts),
            j.updated_at.format("%Y-%m-%d %H:%M"),
            j.error.as_deref().unwrap_or("-")
        );
    }
}

fn invalid(message: String) -> aerie_backend::Error {
    aerie_backend::Error::Invalid {
        field: "job",
        message,
    }
}

pub async fn run(config: Config, cmd: JobsCommand) -> Result<(), StartupError> {
    let state = build_state(config, false).await?;
    let ctx = &state.ctx;
    let result = async {
        match cmd {
            JobsCommand::List { status, limit } => {
                let status = status
                    .map(|s| {
                        s.parse::<JobStatus>()
                            .map_err(|e| invalid(format!("{e}; one of: {}", JobStatus::listed())))
                    })
                    .transpose()?;
                print_table(&jobs::recent(ctx, status, limit).await?);
            }
            JobsCommand::Cancel { id } => {
                let id = id
                    .parse::<uuid::Uuid>()
                    .map_err(|_| invalid(format!("`{id}` is not a job id (a UUID).")))?;
                let status = jobs::cancel(ctx, None, JobId(id)).await?;
                println!("Job {id}: {status}.");
            }
        }
        Ok::<(), aerie_backend::Error>(())
    }
    .await;
    ctx.db().clone().close().await.ok();
    Ok(result?)
}
