//! `aerie keys …`: API keys from the server's shell, acting as the key's owner.

use aerie_backend::config::Config;
use aerie_backend::services::api_keys;
use aerie_contract::api_keys::{ApiKey, NewApiKey};

use super::KeysCommand;
use crate::startup::{StartupError, build_state};

fn print_table(keys: &[ApiKey]) {
    println!(
        "{:<36}  {:<18}  {:<24}  {:<10}  {:<20}  EXPIRES",
        "ID", "PREFIX", "NAME", "STATE", "LAST USED"
    );
    for k in keys {
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
        };
        println!(
            "{:<36}  {:<18}  {:<24}  {:<10}  {:<20}  {}",
            k.id,
            k.prefix,
            k.name,
            k.status,
            when(k.last_used_at),
            when(k.expires_at)
        );
    }
}

pub async fn run(config: Config, cmd: KeysCommand) -> Result<(), StartupError> {
    let state = build_state(config, false).await?;
    let ctx = &state.ctx;
    let result = async {
        match cmd {
            KeysCommand::Create { user, name, expires } => {
                let actor = api_keys::cli::actor_for_email(ctx, &user).await?;
                let created =
                    api_keys::create(ctx, &actor, NewApiKey {
                        name,
                        expires_at: expires,
                        requests_per_minute: None,
                        tokens_per_minute: None,
                    }).await?;
                println!("{}", created.key);
                eprintln!(
                    "Created API key {} ({}) for {user}. The key above is shown once: store it now.",
                    created.api_key.id, created.api_key.prefix
                );
            }
            KeysCommand::List { user } => {
                print_table(&api_keys::cli::list(ctx, user.as_deref()).await?);
            }
            KeysCommand::Revoke { key } => {
                let revoked = api_keys::cli::revoke(ctx, &key).await?;
                println!("Revoked API key {} ({}).", revoked.id, revoked.prefix);
            }
        }
        Ok::<(), aerie_backend::Error>(())
    }
    .await;
    ctx.db().clone().close().await.ok();
    Ok(result?)
}
