//! Real client libraries against a running Aerie: seed 002's Python samples, the official
//! `openai` Python SDK and LangChain's `ChatOpenAI` (server/tests/sdk/clients.py). The Python
//! environment is `$AERIE_TEST_PYTHON`, else `~/.cache/aerie/venv/bin/python` as
//! `scripts/test` prepares it.

use aerie_backend::config::DbKind;
use aerie_bench::Reply;

use crate::support::chat::Chat;

fn python() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("AERIE_TEST_PYTHON") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    std::path::Path::new(&home).join(".cache/aerie/venv/bin/python")
}

#[tokio::test]
async fn official_clients_work_unchanged() {
    let python = python();
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (or `source scripts/lib.sh && python_packages`) to create the client-library environment",
        python.display()
    );
    let t = Chat::start(DbKind::Sqlite).await;
    // The seed's first sample asks for a computation: the model calls the calculator.
    t.fake.push(Reply::ToolCalls(vec![(
        "calculator".to_owned(),
        r#"{"expression": "sqrt(144) + 56"}"#.to_owned(),
    )]));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/clients.py");
    // The server runs on this test's runtime: wait for the script on a blocking thread.
    let (url, key, agent) = (
        format!("http://{}", t.app.addr),
        t.key.clone(),
        t.agent_id.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(script)
            .env("AERIE_URL", url)
            .env("AERIE_KEY", key)
            .env("AGENT_ID", agent)
            .env("AGENT_NAME", "helper")
            .env("NO_PROXY", "*")
            .output()
    })
    .await
    .expect("join")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client checks failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("all client checks passed"), "{stdout}");
}
