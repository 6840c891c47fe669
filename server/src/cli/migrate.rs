//! `aerie migrate`.

use aerie_backend::config::Config;
use aerie_backend::db;

use crate::startup::{StartupError, connect};

pub async fn run(config: Config, status_only: bool) -> Result<(), StartupError> {
    crate::startup::prepare_data_dir(&config)?;
    let conn = connect(&config).await?;
    let pending = db::pending(&conn).await.map_err(StartupError::Migration)?;
    if status_only {
        for name in db::known() {
            let state = if pending.contains(&name) {
                "pending"
            } else {
                "applied"
            };
            println!("{state:8} {name}");
        }
    } else if pending.is_empty() {
        println!(
            "The database is up to date ({} migrations applied).",
            db::known().len()
        );
    } else {
        let applied = db::migrate(&conn).await.map_err(StartupError::Migration)?;
        for name in &pending {
            println!("applied  {name}");
        }
        println!("{applied} migration(s) applied.");
    }
    conn.close().await.map_err(StartupError::Migration)?;
    Ok(())
}
