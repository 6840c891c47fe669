//! How long the guardrail detectors (`aerie_backend::services::guardrails::detect`) take over a
//! prompt: English prose with a few email addresses, phone numbers, card numbers, IBANs and an
//! API key in it, at 1, 8 and 64 KiB. Prints microseconds per KiB for a scan with the default
//! detectors, and for a scan followed by redaction, with the findings per prompt; asserts no
//! timing.
//!
//! `cargo run --release -p aerie-bench --features guardrails --bin guardrail-scan -- [MiB]`
//! (MiB of text scanned per size and measurement, default 32).

use std::hint::black_box;
use std::time::{Duration, Instant};

use aerie_backend::services::guardrails::detect::{CLAIM_ORDER, Scanner, redact};

/// Ordinary sentences, none of which any detector should fire on.
const PROSE: &[&str] = &[
    "The quarterly review covered revenue, hiring and the roadmap for the next two releases.",
    "Our team moved the ingestion pipeline to a queue so that long uploads no longer block chat.",
    "Please summarise the attached meeting notes in five bullet points for the steering group.",
    "The customer reported that the export took 45 seconds on a workspace with 1,200 documents.",
    "We agreed to ship version 2.4.1 on 2026-12-05 after the security review is finished.",
    "Draft a friendly reply that explains the delay and offers a call later this week.",
    "The model answered correctly in 87% of the cases, up from 81% in the previous evaluation.",
    "Translate the following paragraph into German and keep the technical terms in English.",
    "Between 09:30 and 11:00 the latency rose to 340 ms because of a cold cache on two nodes.",
    "List the open risks, who owns each of them, and what we decided at the last meeting.",
    "The invoice for November is attached; the amount is due within 30 days of receipt.",
    "Refactor this function so that it returns early instead of nesting three if statements.",
];

/// Sentences with something to find, one of which follows every few prose sentences.
const SENSITIVE: &[&str] = &[
    "You can reach Jane at jane.doe@example.com or on +44 20 7946 0958 during office hours.",
    "My card is 4242 4242 4242 4242, expiry 12/28, please book the flight with it.",
    "Wire the deposit to DE89 3704 0044 0532 0130 00 and mention the order number 58213.",
    "Use this key for the test: sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z and delete it after.",
    "Call the office on (415) 555-0132 or write to billing@acme-corp.example.org for a refund.",
    "The Amex 378282246310005 was declined; try the Mastercard 5555555555554444 instead.",
    "Her UK account is GB82 WEST 1234 5698 7654 32, sort code on the statement.",
    "The supplier's mobile is 030 1234 5678 and the fax number is no longer in use.",
];

/// A prompt of `bytes` bytes: prose with a sensitive sentence after every 5 prose ones.
fn prompt(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 128);
    let (mut p, mut s) = (0, 0);
    while text.len() < bytes {
        for _ in 0..5 {
            text.push_str(PROSE[p % PROSE.len()]);
            text.push(' ');
            p += 7; // walk the sentences in another order than they are listed
        }
        text.push_str(SENSITIVE[s % SENSITIVE.len()]);
        text.push('\n');
        s += 1;
    }
    // Cut at a space so the last word is whole (the text is ASCII).
    let cut = text[..bytes.min(text.len())].rfind(' ').unwrap_or(0);
    text.truncate(cut);
    text
}

/// Runs `f` until `budget` bytes of text went through it (at least 10 times); the time per KiB.
fn per_kib(text: &str, budget: usize, mut f: impl FnMut(&str)) -> Duration {
    let runs = (budget / text.len().max(1)).max(10);
    for _ in 0..runs.min(10) {
        f(text); // warm-up
    }
    let started = Instant::now();
    for _ in 0..runs {
        f(black_box(text));
    }
    let kib = (runs * text.len()) as f64 / 1024.0;
    Duration::from_secs_f64(started.elapsed().as_secs_f64() / kib)
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let budget = mib << 20;

    let started = Instant::now();
    let scanner = Scanner::defaults();
    let _ = scanner.scan("warm up: a@b.io");
    println!(
        "first Scanner::defaults() + scan (compiles the built-in patterns): {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let custom = [
        ("employee id".to_owned(), r"EMP-\d{6}".to_owned()),
        (
            "codename".to_owned(),
            r"(?i)project\s+(falcon|osprey)".to_owned(),
        ),
    ];
    let started = Instant::now();
    let with_custom = Scanner::new(&CLAIM_ORDER, &custom);
    println!(
        "Scanner::new with 2 custom patterns: {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    println!();
    println!(
        "{:>7}  {:>8}  {:>14}  {:>14}  {:>14}  {:>10}",
        "prompt", "findings", "scan µs/KiB", "scan MB/s", "+redact µs/KiB", "+2 custom"
    );
    for kib in [1, 8, 64] {
        let text = prompt(kib << 10);
        let findings = scanner.scan(&text).len();
        let scan = per_kib(&text, budget, |t| {
            black_box(scanner.scan(t));
        });
        let scan_redact = per_kib(&text, budget, |t| {
            let found = scanner.scan(t);
            black_box(redact(t, &found));
        });
        let custom = match &with_custom {
            Ok(s) => format!(
                "{:.2}",
                per_kib(&text, budget, |t| {
                    black_box(s.scan(t));
                })
                .as_secs_f64()
                    * 1e6
            ),
            Err(e) => e.clone(),
        };
        let mb_s = 1024.0 / 1e6 / scan.as_secs_f64();
        println!(
            "{:>4} KiB  {:>8}  {:>14.2}  {:>14.1}  {:>14.2}  {:>10}",
            kib,
            findings,
            scan.as_secs_f64() * 1e6,
            mb_s,
            scan_redact.as_secs_f64() * 1e6,
            custom
        );
    }
    let text = prompt(8 << 10);
    let found = scanner.scan(&text);
    let mut by_detector: Vec<(&str, usize)> = Vec::new();
    for f in &found {
        match by_detector
            .iter_mut()
            .find(|(d, _)| *d == f.detector.as_str())
        {
            Some((_, n)) => *n += 1,
            None => by_detector.push((f.detector.as_str(), 1)),
        }
    }
    println!();
    println!("findings in the 8 KiB prompt by detector: {by_detector:?}");
    let redacted = redact(&text, &found);
    for line in redacted.lines().take(SENSITIVE.len()) {
        let tail = line.rsplit(". ").next().unwrap_or(line);
        println!("  {tail}");
    }
}
