//! `aerie serve`.

use aerie_backend::config::Config;

use crate::startup::{self, StartupError};

pub async fn run(config: Config) -> Result<(), StartupError> {
    crate::telemetry::init(&config)?;
    let server = startup::Server::build(config, false).await?;
    let shutdown = crate::shutdown::signal();
    println!(
        "Aerie {} is running at {}  (database: {}, data: {})",
        aerie_app::VERSION,
        server.url(),
        server.ctx().db_kind().as_str(),
        server.ctx().config().data_dir.display()
    );
    server.run(shutdown).await
}
