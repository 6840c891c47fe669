//! `aerie dev`: the server on loopback with authentication off.

use aerie_backend::config::Config;

use crate::startup::{self, StartupError};

const BANNER: &str = "\
################################################################################
#  AERIE DEV MODE: AUTHENTICATION IS OFF.                                      #
#  Every request acts as the local developer. Listening on loopback only.      #
#  Never expose this port; use `aerie serve` for anything shared.              #
################################################################################";

pub async fn run(config: Config) -> Result<(), StartupError> {
    if !config.listen.ip().is_loopback() {
        return Err(StartupError::Config(format!(
            "`aerie dev` turns authentication off and only binds loopback; {} is not a loopback address (use 127.0.0.1 or ::1)",
            config.listen.ip()
        )));
    }
    crate::telemetry::init(&config)?;
    let server = startup::Server::build(config, true).await?;
    let shutdown = crate::shutdown::signal();
    eprintln!("{BANNER}");
    tracing::warn!("dev mode: authentication is off");
    println!(
        "Aerie {} (DEV, auth off) is running at {}",
        aerie_app::VERSION,
        server.url()
    );
    server.run(shutdown).await
}
