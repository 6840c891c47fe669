//! How long Aerie takes to verify a SAML response (the work behind `POST /auth/saml/acs`), and
//! how many it verifies per second when many arrive at once: libxmlsec1 is not thread-safe, so
//! its part runs behind one process-wide lock on the blocking pool. Prints figures; asserts none.
//!
//! `cargo run --release -p aerie-bench --features sso --bin saml-verify -- [N]` (needs `xmlsec1` to craft the
//! messages, as the SAML tests do).

use std::time::{Duration, Instant};

use aerie_backend::testing::saml::craft::{self, DataAlg, KeyAlg, Keypair, ResponseSpec, SigAlg};
use aerie_backend::testing::saml::{self, OwnedExpected, SpKeys};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    println!(
        "{label:<42} n={:<5} mean {:>7.2} ms  p50 {:>7.2} ms  p99 {:>7.2} ms",
        times.len(),
        mean.as_secs_f64() * 1e3,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let idp = Keypair::rsa("Bench IdP", 2048)?;
    let sp = SpKeys::generate("Bench SP")?;
    let sp_pair = Keypair::from_sp_keys(&sp);
    let (entity, sp_entity, acs) = (
        "https://idp.bench/metadata",
        "https://aerie.bench/auth/saml/metadata",
        "https://aerie.bench/auth/saml/acs",
    );
    let idp_config = idp.idp_config(entity, "https://idp.bench/sso");
    let expected = |now| OwnedExpected {
        sp_entity_id: sp_entity.to_owned(),
        acs_url: acs.to_owned(),
        idp: idp_config.clone(),
        now,
        skew: chrono::Duration::seconds(120),
    };
    let now = chrono::Utc::now();
    let spec = ResponseSpec::new(entity, sp_entity, acs, now);
    let signed = craft::b64(&spec.signed(&idp)?);
    let mut both = ResponseSpec::new(entity, sp_entity, acs, now);
    both.sign_response = Some(SigAlg::RsaSha256);
    let both = craft::b64(&both.signed(&idp)?);
    let encrypted = craft::b64(&craft::signed_encrypted(
        &spec,
        &idp,
        &sp_pair,
        DataAlg::Aes128Gcm,
        KeyAlg::RsaOaepMgf1p,
    )?);
    println!("SAML response verification, {n} runs each (RSA-2048 IdP key, RSA-3072 SP key)");
    for (label, message) in [
        ("signed assertion", &signed),
        ("signed response + signed assertion", &both),
        ("encrypted (AES-128-GCM, RSA-OAEP) + signed", &encrypted),
    ] {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            let verified = saml::verify_response(message, &expected(now).as_expected(), &sp);
            times.push(start.elapsed());
            anyhow::ensure!(verified.is_ok(), "{label}: {verified:?}");
        }
        report(label, times);
    }
    // Concurrent arrivals: 64 at a time through the async entry point (blocking pool + lock).
    let start = Instant::now();
    let mut done = 0usize;
    while done < n {
        let batch: Vec<_> = (0..64.min(n - done))
            .map(|_| {
                tokio::spawn(saml::verify_response_async(
                    signed.clone(),
                    expected(now),
                    sp.clone(),
                ))
            })
            .collect();
        for task in batch {
            anyhow::ensure!(task.await?.is_ok(), "concurrent verification failed");
            done += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{:<42} {:.0} responses/s ({} in {:.2} s, 64 in flight)",
        "concurrent, signed assertion",
        n as f64 / elapsed.as_secs_f64(),
        n,
        elapsed.as_secs_f64()
    );
    Ok(())
}
