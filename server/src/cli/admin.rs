//! `aerie admin …`: instance administration from the server's shell.

use std::io::BufRead;

use aerie_backend::actor::Actor;
use aerie_backend::config::Config;
use aerie_backend::crypto;
use aerie_backend::services::auth;
use aerie_contract::auth::SetupRequest;

use super::AdminCommand;
use crate::startup::{StartupError, build_state};

pub async fn run(config: Config, cmd: AdminCommand) -> Result<(), StartupError> {
    match cmd {
        AdminCommand::Create {
            email,
            name,
            org,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                    StartupError::Config(format!("cannot read the password from stdin: {e}"))
                })?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (crypto::random_token(24), true)
            };
            let state = build_state(config, false).await?;
            let result = auth::setup(
                &state.ctx,
                &Actor::default(),
                SetupRequest {
                    email,
                    password: password.clone(),
                    name,
                    organization_name: org,
                },
            )
            .await;
            state.ctx.db().clone().close().await.ok();
            let result = result?;
            println!(
                "Created organisation \"{}\" ({}) and its owner {}.",
                result.organization.name, result.organization.slug, result.user.email
            );
            if generated {
                println!("Password (shown once, change it after signing in): {password}");
            }
            Ok(())
        }
    }
}
