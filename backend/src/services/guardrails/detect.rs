//! Detectors that find sensitive data in text, and redaction of what they find. Pure functions
//! over `&str`: no I/O and no state beyond a compiled [`Scanner`], which is built once per
//! configuration and reused (compiling the regular expressions is the expensive part; the
//! built-in ones are compiled once per process).
//!
//! # The detectors
//!
//! - [`GuardrailDetector::Email`]: `local@domain.tld` ([`EMAIL_PATTERN`]), not followed by a
//!   letter or digit (the address ends at the last top-level domain that is not).
//! - [`GuardrailDetector::Phone`]: international numbers (`+<country> …`, or `00<country> …`) of
//!   [`PHONE_MIN_DIGITS`] to [`PHONE_MAX_DIGITS`] digits, and national numbers of
//!   [`NATIONAL_MIN_DIGITS`] to [`NATIONAL_MAX_DIGITS`] digits written with separators: a trunk
//!   `0` prefix (`030 1234 5678`, `(030) 1234567`, `06 12 34 56 78`) or the North American
//!   `(555) 123-4567` / `555-123-4567` / `1-555-123-4567`. Groups are joined by one space, dash,
//!   dot or slash, or by the parentheses around one area code. Unseparated digit runs, dates,
//!   times, version numbers and digits that are part of a word (`v0301-234-567`) are not phones.
//! - [`GuardrailDetector::PaymentCard`]: [`CARD_MIN_DIGITS`] to [`CARD_MAX_DIGITS`] digits, in
//!   one run or in groups of 3+ digits joined by single spaces or single dashes (the same one
//!   throughout), with a known issuer prefix and length (Visa, Mastercard, Amex, Discover, JCB,
//!   Diners, UnionPay), that pass the Luhn check. Never part of a longer digit run or glued to a
//!   letter.
//! - [`GuardrailDetector::Iban`]: a country code from [`IBAN_LENGTHS`], two check digits and the
//!   rest of the country's length in letters and digits, in one run or in groups of four joined by
//!   single spaces, any case, passing the ISO 7064 mod-97 check.
//! - [`GuardrailDetector::Secret`]: credentials in known formats ([`SECRET_PATTERN`]): OpenAI and
//!   Anthropic `sk-…` keys (with upper-case letters, lower-case letters and digits), AWS access
//!   key ids, GitHub tokens, Slack tokens, Stripe secret and restricted keys, Google API keys,
//!   JWTs, Aerie's own API keys, none right after a letter, digit or `_` nor right before a
//!   letter or digit; and PEM private keys (`-----BEGIN … PRIVATE KEY-----` through its
//!   `-----END … PRIVATE KEY-----`, or through its last base64 line when the end is missing).
//! - [`GuardrailDetector::HighEntropy`]: tokens of `[A-Za-z0-9+/=_-]` (an `=` followed by another
//!   token character ends a token, so `NAME=value` is two) of at least [`HIGH_ENTROPY_MIN_CHARS`]
//!   characters, with letters and digits, at least [`HIGH_ENTROPY_MIN_BITS`] bits of Shannon
//!   entropy per character, that are not a UUID nor an all-hex string of at most
//!   [`HIGH_ENTROPY_HEX_MAX_CHARS`] characters (git object ids), nor made of words
//!   (identifiers, paths, slugs: see `made_of_words`). Hex carries at most 4 bits per character,
//!   so hex strings practically never reach the threshold.
//! - [`GuardrailDetector::Custom`]: every non-empty match of an administrator's pattern.
//!
//! # Who gets a piece of text
//!
//! Detectors claim text one after another, in this order: custom patterns (in the order given),
//! then Secret, Email, Iban, PaymentCard, Phone, HighEntropy ([`CLAIM_ORDER`]). Each one searches
//! only the stretches between earlier claims, and the edge of a claim reads like the edge of the
//! text: a detector sees the text as if everything claimed before it were already redacted. So
//! findings never overlap. When two detectors would match overlapping characters, the one earlier
//! in the order keeps what it matched, and the later one only looks at what is left (a key in
//! `AKIA….bob@example.com` stays a Secret and `.bob@example.com` is an Email). This also makes
//! redaction final: scanning `redact(text, &scan(text))` finds nothing more (property-tested
//! below).

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

pub use aerie_contract::kinds::{GuardrailAction, GuardrailDetector};

/// The longest custom pattern accepted, in characters.
pub const MAX_PATTERN_CHARS: usize = 512;
/// The most memory one compiled custom pattern may take (`regex::RegexBuilder::size_limit`).
pub const MAX_PATTERN_COMPILED_BYTES: usize = 1 << 20;
/// The most custom patterns one scanner holds.
pub const MAX_CUSTOM_PATTERNS: usize = 64;

/// Fewest digits of a payment card number.
pub const CARD_MIN_DIGITS: usize = 13;
/// Most digits of a payment card number.
pub const CARD_MAX_DIGITS: usize = 19;
/// Fewest digits of an international phone number (country code included, a `(0)` left out).
pub const PHONE_MIN_DIGITS: usize = 8;
/// Most digits of an international phone number (E.164).
pub const PHONE_MAX_DIGITS: usize = 15;
/// Fewest digits of a national phone number (trunk `0` included).
pub const NATIONAL_MIN_DIGITS: usize = 9;
/// Most digits of a national phone number (trunk `0` included).
pub const NATIONAL_MAX_DIGITS: usize = 12;
/// Shortest high-entropy token, in characters.
pub const HIGH_ENTROPY_MIN_CHARS: usize = 24;
/// Least Shannon entropy of a high-entropy token, in bits per character. Random base64 of 24+
/// characters has about 4.3 to 5; English words and identifiers mostly stay below 4.
pub const HIGH_ENTROPY_MIN_BITS: f64 = 4.0;
/// All-hex tokens up to this length (git object ids, SHA-1) are never high-entropy findings.
pub const HIGH_ENTROPY_HEX_MAX_CHARS: usize = 40;
/// Tokens with at least this share of their characters in words are identifiers or paths, not
/// high-entropy findings (see `made_of_words`).
pub const HIGH_ENTROPY_MAX_WORD_SHARE: f64 = 0.6;
/// A ruled-out credential-like match up to this long is searched again from its second
/// character (it may hold a key, `sk-AKIA…`); a longer one is skipped, which keeps the search
/// linear on adversarial input.
pub const MAX_SECRET_RETRY_BYTES: usize = 256;
/// How far after a PEM header its `-----END` line is looked for.
pub const MAX_PEM_BODY_BYTES: usize = 64 * 1024;

/// The built-in detectors in the order they claim text (custom patterns claim before them).
pub const CLAIM_ORDER: [GuardrailDetector; 6] = [
    GuardrailDetector::Secret,
    GuardrailDetector::Email,
    GuardrailDetector::Iban,
    GuardrailDetector::PaymentCard,
    GuardrailDetector::Phone,
    GuardrailDetector::HighEntropy,
];

/// Credentials in known formats, one alternative each (checked further by `plausible_secret`;
/// a match glued to a letter or digit, or after `_`, is not a secret): OpenAI (`sk-`,
/// `sk-proj-`) and Anthropic (`sk-ant-`) keys, AWS access key ids (`AKIA`/`ASIA` and 16 more),
/// GitHub tokens (`ghp_/gho_/ghu_/ghs_/ghr_` and 36 more, `github_pat_`), Slack tokens
/// (`xox[baprs]-`), Stripe secret and restricted keys (`sk_live_`, `rk_live_`, and their
/// `_test_` twins), Google API keys (`AIza` and 35 more), JWTs (three base64url parts, header and
/// payload starting `eyJ`), and Aerie API keys (`aerie_<12>_<32>`, see `new_api_key` and
/// `api_key_prefix` in `backend/src/crypto.rs`).
pub const SECRET_PATTERN: &str = concat!(
    // Not after a letter, digit or `_` (an ASCII word boundary, which the regex engine checks
    // while it searches, so `iosk-AKIA…` still finds the AWS key after `sk-` is ruled out).
    r"(?-u:\b)(?:",
    r"sk-[A-Za-z0-9_-]{20,}",
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}",
    r"|gh[pousr]_[A-Za-z0-9]{36}",
    r"|github_pat_[A-Za-z0-9_]{22,}",
    r"|xox[baprs]-[A-Za-z0-9-]{10,}",
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"|AIza[A-Za-z0-9_-]{35}",
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*",
    r"|aerie_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}",
    r")",
);

/// The header line of a PEM private key (`RSA`, `EC`, `OPENSSH`, `ENCRYPTED` or none).
const PEM_BEGIN_PATTERN: &str = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----";
/// The footer line of a PEM private key.
const PEM_END_PATTERN: &str = r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----";

/// A practical email address: an RFC 5322 dot-atom local part (without the rarely used
/// characters), `@`, dot-separated domain labels and an alphabetic top-level domain.
pub const EMAIL_PATTERN: &str =
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}";

/// Where an IBAN may start: a country code and two check digits (the rest is read by hand).
const IBAN_START_PATTERN: &str = r"[A-Za-z]{2}[0-9]{2}";

/// IBAN lengths by country (SWIFT's IBAN registry): every SEPA country and the other common
/// ones.
pub const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// One thing a detector found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub detector: GuardrailDetector,
    /// For Custom: the pattern's name; otherwise None.
    pub pattern: Option<String>,
    /// Byte range in the scanned text; always on char boundaries.
    pub start: usize,
    pub end: usize,
    /// A masked preview safe to store and show, never the whole value: `j***@example.com`,
    /// `**** **** **** 4242`, `GB**…5432`, `+…4567`, `sk-proj-…a1b2`, `-----BEGIN RSA PRIVATE
    /// KEY-----…`. At most the last 4 characters of the value, after a known public prefix (a
    /// key's kind, an IBAN's country, an email's domain; for an Aerie key its lookup prefix,
    /// which Aerie itself stores in clear and lists), and `***` for values under 8 characters.
    pub preview: String,
}

impl Finding {
    /// What `redact` puts in the finding's place: the detector, or a custom pattern's name.
    pub fn label(&self) -> &str {
        match (&self.pattern, self.detector) {
            (Some(name), GuardrailDetector::Custom) => name,
            (_, detector) => detector.as_str(),
        }
    }
}

/// One compiled set of detectors (build once per configuration, reuse: compiling regexes is the
/// expensive part).
#[derive(Clone, Debug)]
pub struct Scanner {
    /// The enabled built-in detectors, in [`CLAIM_ORDER`].
    builtin: Vec<GuardrailDetector>,
    custom: Vec<CustomPattern>,
    /// All custom patterns at once: which of them match at all (one pass over the text). None
    /// when the set would be too big to compile; each pattern is then searched on its own.
    custom_set: Option<RegexSet>,
}

#[derive(Clone, Debug)]
struct CustomPattern {
    name: String,
    regex: Regex,
}

impl Scanner {
    /// The built-in detectors (all except Custom), each enabled.
    pub fn defaults() -> Scanner {
        Scanner {
            builtin: CLAIM_ORDER.to_vec(),
            custom: Vec::new(),
            custom_set: None,
        }
    }

    /// Chosen built-in detectors plus custom patterns (name, regex text). `Custom` among
    /// `builtin` is ignored (custom patterns come in `custom`). Err(String) with a clear human
    /// sentence naming the bad pattern (invalid regex, too long, too big).
    pub fn new(
        builtin: &[GuardrailDetector],
        custom: &[(String, String)],
    ) -> Result<Scanner, String> {
        if custom.len() > MAX_CUSTOM_PATTERNS {
            return Err(format!(
                "At most {MAX_CUSTOM_PATTERNS} custom patterns are allowed; {} were given.",
                custom.len()
            ));
        }
        let mut patterns = Vec::with_capacity(custom.len());
        for (name, pattern) in custom {
            patterns.push(compile_custom(name, pattern)?);
        }
        let custom_set = if patterns.is_empty() {
            None
        } else {
            RegexSetBuilder::new(custom.iter().map(|(_, pattern)| pattern))
                .size_limit(MAX_PATTERN_COMPILED_BYTES.saturating_mul(patterns.len()))
                .build()
                .ok()
        };
        Ok(Scanner {
            builtin: CLAIM_ORDER
                .into_iter()
                .filter(|d| builtin.contains(d))
                .collect(),
            custom: patterns,
            custom_set,
        })
    }

    /// All findings in `text`, sorted by start, non-overlapping: detectors claim text in
    /// [`CLAIM_ORDER`] (custom patterns first), each seeing only what earlier ones left, so of
    /// two overlapping matches the earlier detector's is kept (see the module documentation).
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let mut claims = Claims::default();
        if !self.custom.is_empty() {
            let matching = self.custom_set.as_ref().map(|set| set.matches(text));
            for (index, pattern) in self.custom.iter().enumerate() {
                if matching.as_ref().is_some_and(|m| !m.matched(index)) {
                    continue;
                }
                let mut found = Vec::new();
                for (base, piece) in unclaimed(text, &claims.spans) {
                    for m in pattern.regex.find_iter(piece) {
                        if m.start() < m.end() {
                            found.push(Finding {
                                detector: GuardrailDetector::Custom,
                                pattern: Some(pattern.name.clone()),
                                start: base + m.start(),
                                end: base + m.end(),
                                preview: mask_tail("", m.as_str()),
                            });
                        }
                    }
                }
                claims.add(found);
            }
        }
        for &detector in &self.builtin {
            let mut hits = Vec::new();
            for (base, piece) in unclaimed(text, &claims.spans) {
                let before = hits.len();
                detect(detector, piece, &mut hits);
                for hit in hits.iter_mut().skip(before) {
                    hit.start += base;
                    hit.end += base;
                }
            }
            claims.add(
                hits.into_iter()
                    .map(|hit| Finding {
                        detector,
                        pattern: None,
                        start: hit.start,
                        end: hit.end,
                        preview: hit.preview,
                    })
                    .collect(),
            );
        }
        let mut findings = claims.findings;
        findings.retain(|f| f.start < f.end && text.get(f.start..f.end).is_some());
        findings.sort_by_key(|f| f.start);
        findings
    }
}

/// `text` with every finding replaced by `[REDACTED:<detector>]` (custom: `[REDACTED:<name>]`).
/// Findings may come in any order; a range that is not on char boundaries is widened to the
/// characters it touches, one past the end of `text` is cut at the end, and overlapping ranges
/// become one marker.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut order: Vec<&Finding> = findings.iter().filter(|f| f.start < f.end).collect();
    order.sort_by_key(|f| (f.start, f.end));
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for finding in order {
        let start = floor_char_boundary(text, finding.start);
        let end = ceil_char_boundary(text, finding.end);
        if start >= end {
            continue;
        }
        if start < cursor {
            // Inside (or overlapping) the previous marker: its characters are already gone.
            cursor = cursor.max(end);
            continue;
        }
        out.push_str(text.get(cursor..start).unwrap_or_default());
        out.push_str("[REDACTED:");
        out.push_str(finding.label());
        out.push(']');
        cursor = end;
    }
    out.push_str(text.get(cursor..).unwrap_or_default());
    out
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn compile_custom(name: &str, pattern: &str) -> Result<CustomPattern, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Every custom pattern needs a name.".to_owned());
    }
    if pattern.trim().is_empty() {
        return Err(format!("The custom pattern `{name}` is empty."));
    }
    let chars = pattern.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(format!(
            "The custom pattern `{name}` is too long ({chars} characters; at most {MAX_PATTERN_CHARS})."
        ));
    }
    let regex = RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_COMPILED_BYTES)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => format!(
                "The custom pattern `{name}` is too big once compiled (over {} KiB); use fewer or smaller repetitions.",
                MAX_PATTERN_COMPILED_BYTES / 1024
            ),
            regex::Error::Syntax(message) => format!(
                "The custom pattern `{name}` is not a valid regular expression: {}.",
                syntax_reason(&message)
            ),
            other => format!("The custom pattern `{name}` cannot be used: {other}."),
        })?;
    Ok(CustomPattern {
        name: name.to_owned(),
        regex,
    })
}

/// The one-line reason in a `regex` syntax error (which also draws the pattern and a caret).
fn syntax_reason(message: &str) -> &str {
    message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or_else(|| message.trim())
        .trim_end_matches('.')
}

/// The built-in regular expressions, compiled once per process. A pattern that failed to
/// compile (the unit tests make sure none does) leaves its detector finding nothing.
struct Builtins {
    secret: Option<Regex>,
    pem_begin: Option<Regex>,
    pem_end: Option<Regex>,
    email: Option<Regex>,
    iban_start: Option<Regex>,
}

static BUILTINS: LazyLock<Builtins> = LazyLock::new(|| Builtins {
    secret: Regex::new(SECRET_PATTERN).ok(),
    pem_begin: Regex::new(PEM_BEGIN_PATTERN).ok(),
    pem_end: Regex::new(PEM_END_PATTERN).ok(),
    email: Regex::new(EMAIL_PATTERN).ok(),
    iban_start: Regex::new(IBAN_START_PATTERN).ok(),
});

/// A match of a built-in detector, as a byte range of the piece of text it searched.
struct Hit {
    start: usize,
    end: usize,
    preview: String,
}

/// What has been claimed so far: the findings and their ranges (sorted, disjoint).
#[derive(Default)]
struct Claims {
    findings: Vec<Finding>,
    spans: Vec<(usize, usize)>,
}

impl Claims {
    fn add(&mut self, found: Vec<Finding>) {
        if found.is_empty() {
            return;
        }
        self.spans.extend(found.iter().map(|f| (f.start, f.end)));
        self.spans.sort_unstable();
        self.findings.extend(found);
    }
}

/// The stretches of `text` outside `claimed` (sorted, disjoint byte ranges), each with its
/// offset.
fn unclaimed<'t>(text: &'t str, claimed: &[(usize, usize)]) -> Vec<(usize, &'t str)> {
    let mut out = Vec::with_capacity(claimed.len() + 1);
    let mut cursor = 0;
    for &(start, end) in claimed {
        if start > cursor
            && let Some(piece) = text.get(cursor..start)
        {
            out.push((cursor, piece));
        }
        cursor = cursor.max(end);
    }
    if cursor < text.len()
        && let Some(piece) = text.get(cursor..)
    {
        out.push((cursor, piece));
    }
    out
}

/// Runs one built-in detector over a piece of unclaimed text.
fn detect(detector: GuardrailDetector, piece: &str, out: &mut Vec<Hit>) {
    match detector {
        GuardrailDetector::Secret => secrets(piece, out),
        GuardrailDetector::Email => emails(piece, out),
        GuardrailDetector::Iban => ibans(piece, out),
        GuardrailDetector::PaymentCard => cards(piece, out),
        GuardrailDetector::Phone => phones(piece, out),
        GuardrailDetector::HighEntropy => high_entropy(piece, out),
        GuardrailDetector::Custom => {}
    }
}

/// The byte at `index` (None before the start or past the end) is an ASCII letter or digit.
fn alnum_at(bytes: &[u8], index: Option<usize>) -> bool {
    index
        .and_then(|i| bytes.get(i))
        .is_some_and(u8::is_ascii_alphanumeric)
}

/// `prefix`, then `…` and the last 4 characters of `value` when it has at least 8 (else `***`).
fn mask_tail(prefix: &str, value: &str) -> String {
    let chars = value.chars().count();
    if chars < 8 {
        return format!("{prefix}***");
    }
    let tail: String = value.chars().skip(chars - 4).collect();
    format!("{prefix}…{tail}")
}

// ---------------------------------------------------------------------------------------------
// Secret

fn secrets(piece: &str, out: &mut Vec<Hit>) {
    let mut keys = Vec::new();
    private_keys(piece, &mut keys);
    let spans: Vec<(usize, usize)> = keys.iter().map(|k| (k.start, k.end)).collect();
    if let Some(regex) = &BUILTINS.secret {
        for (base, rest) in unclaimed(piece, &spans) {
            let bytes = rest.as_bytes();
            let mut at = 0;
            while let Some(m) = regex.find_at(rest, at) {
                let value = m.as_str();
                if alnum_at(bytes, Some(m.end())) || !plausible_secret(value) {
                    // Another key may start inside what was ruled out (`AKIA…` in `sk-AKIA…`):
                    // search on from the next character, unless the match is too long for that
                    // to stay cheap. Matches start with an ASCII character.
                    at = if m.len() <= MAX_SECRET_RETRY_BYTES {
                        m.start() + 1
                    } else {
                        m.end()
                    };
                    continue;
                }
                out.push(Hit {
                    start: base + m.start(),
                    end: base + m.end(),
                    preview: secret_preview(value),
                });
                at = m.end();
            }
        }
    }
    out.extend(keys);
}

/// Checks beyond the pattern: an `sk-` key has upper-case letters, lower-case letters and digits
/// (so `sk-learn-…` prose is not one), a Slack token has digits.
fn plausible_secret(value: &str) -> bool {
    if let Some(body) = value.strip_prefix("sk-") {
        body.bytes().any(|b| b.is_ascii_uppercase())
            && body.bytes().any(|b| b.is_ascii_lowercase())
            && body.bytes().any(|b| b.is_ascii_digit())
    } else if value.starts_with("xox") {
        value.bytes().any(|b| b.is_ascii_digit())
    } else {
        true
    }
}

/// The kind's public prefix, `…` and the last 4 characters.
fn secret_preview(value: &str) -> String {
    const PREFIXES: &[&str] = &[
        "sk-ant-",
        "sk-proj-",
        "sk-",
        "github_pat_",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "sk_live_",
        "rk_live_",
        "sk_test_",
        "rk_test_",
        "AKIA",
        "ASIA",
        "AIza",
        "eyJ",
    ];
    if value.starts_with("aerie_") {
        // The lookup prefix is public: Aerie stores and lists it in clear (backend/src/crypto.rs).
        let public = value.get(..18).unwrap_or("aerie_");
        return mask_tail(&format!("{public}_"), value);
    }
    if value.starts_with("xox") {
        return mask_tail(value.get(..5).unwrap_or("xox"), value);
    }
    let prefix = PREFIXES
        .iter()
        .find(|p| value.starts_with(**p))
        .copied()
        .unwrap_or("");
    mask_tail(prefix, value)
}

/// PEM private keys: the header through the first footer within [`MAX_PEM_BODY_BYTES`], or
/// through the base64 lines that follow the header when there is none.
fn private_keys(piece: &str, out: &mut Vec<Hit>) {
    let (Some(begin), Some(end)) = (&BUILTINS.pem_begin, &BUILTINS.pem_end) else {
        return;
    };
    let mut headers = begin.find_iter(piece).peekable();
    if headers.peek().is_none() {
        return;
    }
    let footers: Vec<(usize, usize)> = end.find_iter(piece).map(|m| (m.start(), m.end())).collect();
    let bytes = piece.as_bytes();
    let mut cursor = 0;
    for header in headers {
        if header.start() < cursor {
            continue;
        }
        let next = footers.partition_point(|&(start, _)| start < header.end());
        let stop = match footers.get(next) {
            Some(&(start, end)) if start.saturating_sub(header.end()) <= MAX_PEM_BODY_BYTES => end,
            _ => base64_lines_end(bytes, header.end()),
        };
        out.push(Hit {
            start: header.start(),
            end: stop,
            preview: format!("{}…", header.as_str()),
        });
        cursor = stop;
    }
}

/// The end of the base64 lines right after `from` (a truncated PEM body).
fn base64_lines_end(bytes: &[u8], from: usize) -> usize {
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let mut end = from;
    loop {
        let mut i = end;
        if bytes.get(i) == Some(&b'\r') {
            i += 1;
        }
        if bytes.get(i) != Some(&b'\n') {
            return end;
        }
        i += 1;
        let line = i;
        while bytes.get(i).is_some_and(base64) {
            i += 1;
        }
        if i == line {
            return end;
        }
        end = i;
    }
}

// ---------------------------------------------------------------------------------------------
// Email

fn emails(piece: &str, out: &mut Vec<Hit>) {
    let Some(regex) = &BUILTINS.email else {
        return;
    };
    let bytes = piece.as_bytes();
    // After an address the search goes on from its end; after a match that is not one (a letter
    // or digit right after every possible top-level domain), from just after its `@`, since its
    // domain may be the local part of the next address. Either way a local part starts where
    // the previous address ended or after a character that cannot be in it, never glued to a
    // letter or digit of text that is not an address.
    let mut at = 0;
    while let Some(m) = regex.find_at(piece, at) {
        let at_sign = m.start() + m.as_str().find('@').unwrap_or(0);
        let found = email_end(bytes, m.start(), m.end())
            .and_then(|end| Some((end, piece.get(m.start()..end)?)));
        let Some((end, value)) = found else {
            at = at_sign + 1;
            continue;
        };
        out.push(Hit {
            start: m.start(),
            end,
            preview: email_preview(value),
        });
        at = end;
    }
}

/// Where the address matched at `start..end` ends: the furthest point of its domain, at most
/// `end`, that closes an alphabetic top-level domain (2+ letters after a dot) and is not followed
/// by a letter or digit (`a@b.io` in `a@b.io.GB82`, `a@b.iosk` in `a@b.iosk-a.bAb3`).
fn email_end(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    let domain_start = start + bytes.get(start..end)?.iter().position(|&b| b == b'@')? + 1;
    let mut best = None;
    let mut label_start = domain_start;
    let mut alphabetic = true;
    let mut dotted = false;
    for i in domain_start..=end {
        let byte = if i < end { bytes.get(i).copied() } else { None };
        let closes = !byte.is_some_and(|b| b.is_ascii_alphanumeric()) && !alnum_at(bytes, Some(i));
        if closes && dotted && alphabetic && i - label_start >= 2 {
            best = Some(i);
        }
        match byte {
            Some(b'.') => {
                label_start = i + 1;
                alphabetic = true;
                dotted = true;
            }
            Some(b) if !b.is_ascii_alphabetic() => alphabetic = false,
            _ => {}
        }
    }
    best
}

/// `j***@example.com`: the local part's first character (none for a one-character local part)
/// and the domain.
fn email_preview(value: &str) -> String {
    let (local, domain) = value.rsplit_once('@').unwrap_or(("", value));
    let mut chars = local.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(_)) => format!("{first}***@{domain}"),
        _ => format!("***@{domain}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Iban

fn ibans(piece: &str, out: &mut Vec<Hit>) {
    let Some(regex) = &BUILTINS.iban_start else {
        return;
    };
    let bytes = piece.as_bytes();
    let mut free_from = 0;
    for m in regex.find_iter(piece) {
        if m.start() < free_from || alnum_at(bytes, m.start().checked_sub(1)) {
            continue;
        }
        if let Some((end, compact)) = iban_at(bytes, m.start()) {
            let country = compact.get(..2).unwrap_or("");
            out.push(Hit {
                start: m.start(),
                end,
                preview: mask_tail(&format!("{country}**"), &compact),
            });
            free_from = end;
        }
    }
}

/// The country's IBAN length.
fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(country))
        .map(|&(_, length)| length)
}

/// The IBAN starting at `start` (a country code and two digits): its end and its compact
/// upper-case form, if the country's length is there (in one run or in groups of four joined
/// by single spaces), not followed by a letter or digit, and the mod-97 check holds.
fn iban_at(bytes: &[u8], start: usize) -> Option<(usize, String)> {
    let country = std::str::from_utf8(bytes.get(start..start + 2)?).ok()?;
    let length = iban_length(country)?;
    let mut compact = String::with_capacity(length);
    let mut grouped = None;
    let mut i = start;
    while compact.len() < length {
        if !compact.is_empty() && compact.len().is_multiple_of(4) {
            let space = bytes.get(i) == Some(&b' ');
            if *grouped.get_or_insert(space) != space {
                return None;
            }
            if space {
                i += 1;
            }
        }
        let c = *bytes.get(i)?;
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        compact.push(char::from(c.to_ascii_uppercase()));
        i += 1;
    }
    if alnum_at(bytes, Some(i)) || !iban_checksum_ok(&compact) {
        return None;
    }
    Some((i, compact))
}

/// ISO 7064 mod 97-10 over the IBAN with its first four characters moved to the end, letters
/// counting A = 10 … Z = 35: valid when the remainder is 1.
fn iban_checksum_ok(compact: &str) -> bool {
    let (head, tail) = compact.split_at_checked(4).unwrap_or((compact, ""));
    let mut remainder: u32 = 0;
    for c in tail.bytes().chain(head.bytes()) {
        remainder = match c {
            b'0'..=b'9' => (remainder * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

// ---------------------------------------------------------------------------------------------
// Digit runs (PaymentCard, Phone)

/// A maximal run of ASCII digits: its byte range.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: usize,
    end: usize,
}

impl Run {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// The characters of a high-entropy token, which also delimit words for the phone detector.
fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-')
}

/// Maximal runs of [`token_char`]s; an `=` followed by another token character other than `=`
/// ends its token (`NAME=value` is two tokens, trailing `==` padding stays).
fn tokens(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while bytes.get(i).is_some_and(|&b| !token_char(b)) {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        while let Some(&b) = bytes.get(i) {
            if !token_char(b) {
                break;
            }
            i += 1;
            if b == b'=' && bytes.get(i).is_some_and(|&n| token_char(n) && n != b'=') {
                break;
            }
        }
        Some((start, i))
    })
}

/// Digit runs not glued to a letter (for cards).
fn unglued_runs(bytes: &[u8]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if !alnum_at(bytes, start.checked_sub(1)) && !alnum_at(bytes, Some(i)) {
            runs.push(Run { start, end: i });
        }
    }
    runs
}

/// Digit runs whose token (see [`tokens`]) has no letter (for phones): `v0301-234-567` or
/// `ref-555-123-4567` are words, not numbers.
fn letter_free_runs(bytes: &[u8]) -> Vec<Run> {
    let mut runs = Vec::new();
    for (start, end) in tokens(bytes) {
        let Some(token) = bytes.get(start..end) else {
            continue;
        };
        if token.iter().any(u8::is_ascii_alphabetic) {
            continue;
        }
        let mut i = 0;
        while i < token.len() {
            if !token.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            let run_start = i;
            while token.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            runs.push(Run {
                start: start + run_start,
                end: start + i,
            });
        }
    }
    runs
}

/// The digits of `runs`, in order.
fn digits_of(bytes: &[u8], runs: &[Run]) -> Vec<u8> {
    runs.iter()
        .filter_map(|r| bytes.get(r.start..r.end))
        .flatten()
        .copied()
        .collect()
}

/// `…` and the last 4 digits.
fn digits_tail(digits: &[u8]) -> String {
    let tail = digits.get(digits.len().saturating_sub(4)..).unwrap_or(&[]);
    format!("…{}", String::from_utf8_lossy(tail))
}

// ---------------------------------------------------------------------------------------------
// PaymentCard

fn cards(piece: &str, out: &mut Vec<Hit>) {
    let bytes = piece.as_bytes();
    let runs = unglued_runs(bytes);
    let mut chain_start = 0;
    for (k, pair) in runs.windows(2).enumerate() {
        let [a, b] = pair else { continue };
        let linked = b.start == a.end + 1 && matches!(bytes.get(a.end), Some(b' ' | b'-'));
        if !linked {
            cards_in_chain(bytes, runs.get(chain_start..=k).unwrap_or(&[]), out);
            chain_start = k + 1;
        }
    }
    cards_in_chain(bytes, runs.get(chain_start..).unwrap_or(&[]), out);
}

/// Card numbers in one chain of digit runs joined by single spaces or dashes: from each run,
/// the longest valid number that starts there (then on after it).
fn cards_in_chain(bytes: &[u8], chain: &[Run], out: &mut Vec<Hit>) {
    let mut s = 0;
    while let Some(first) = chain.get(s) {
        let mut best = None;
        let mut digits = 0;
        let mut separator = None;
        for (e, run) in chain.iter().enumerate().skip(s) {
            if e > s {
                let gap = run.start.checked_sub(1).and_then(|k| bytes.get(k)).copied();
                if *separator.get_or_insert(gap) != gap || run.len() < 3 || first.len() < 3 {
                    break;
                }
            }
            digits += run.len();
            if digits > CARD_MAX_DIGITS {
                break;
            }
            if digits >= CARD_MIN_DIGITS {
                let number = digits_of(bytes, chain.get(s..=e).unwrap_or(&[]));
                if card_number_ok(&number) {
                    best = Some((e, number));
                }
            }
        }
        match best {
            Some((e, number)) => {
                let end = chain.get(e).map_or(first.end, |r| r.end);
                let tail = number.get(number.len().saturating_sub(4)..).unwrap_or(&[]);
                out.push(Hit {
                    start: first.start,
                    end,
                    preview: format!("**** **** **** {}", String::from_utf8_lossy(tail)),
                });
                s = e + 1;
            }
            None => s += 1,
        }
    }
}

/// A known issuer prefix with one of its lengths, and the Luhn check.
fn card_number_ok(digits: &[u8]) -> bool {
    let n = digits.len();
    let prefix = |k: usize| {
        digits
            .iter()
            .take(k)
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
    };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let issuer = (p1 == 4 && matches!(n, 13 | 16 | 19)) // Visa
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16) // Mastercard
        || ((p2 == 34 || p2 == 37) && n == 15) // American Express
        || ((p4 == 6011 || p2 == 65 || (644..=649).contains(&p3)) && (16..=19).contains(&n)) // Discover
        || ((3528..=3589).contains(&p4) && (16..=19).contains(&n)) // JCB
        || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && (14..=19).contains(&n)) // Diners Club
        || (p2 == 62 && (16..=19).contains(&n)); // UnionPay
    issuer && luhn_ok(digits)
}

/// The Luhn check: doubling every second digit from the right, the sum is a multiple of 10.
fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

// ---------------------------------------------------------------------------------------------
// Phone

/// What joins two digit groups of a phone number: an optional `)` closing the first, one
/// separator (space, dash, dot, slash) or none, an optional `(` opening the second.
#[derive(Clone, Copy, Debug)]
struct Gap {
    close: bool,
    separator: Option<u8>,
    open: bool,
}

fn phone_gap(text: &[u8]) -> Option<Gap> {
    let mut i = 0;
    let close = text.first() == Some(&b')');
    if close {
        i += 1;
    }
    let separator = text
        .get(i)
        .copied()
        .filter(|b| matches!(b, b' ' | b'-' | b'.' | b'/'));
    if separator.is_some() {
        i += 1;
    }
    let open = text.get(i) == Some(&b'(');
    if open {
        i += 1;
    }
    (i > 0 && i == text.len()).then_some(Gap {
        close,
        separator,
        open,
    })
}

/// The most digit groups a phone number has (17 digits with a `00` prefix).
const MAX_PHONE_GROUPS: usize = 17;

fn phones(piece: &str, out: &mut Vec<Hit>) {
    let bytes = piece.as_bytes();
    let mut chain: Vec<Run> = Vec::new();
    let mut gaps: Vec<Gap> = Vec::new();
    for run in letter_free_runs(bytes) {
        if let Some(last) = chain.last() {
            match bytes.get(last.end..run.start).and_then(phone_gap) {
                Some(gap) => gaps.push(gap),
                None => {
                    phones_in_chain(bytes, &chain, &gaps, out);
                    chain.clear();
                    gaps.clear();
                }
            }
        }
        chain.push(run);
    }
    phones_in_chain(bytes, &chain, &gaps, out);
}

/// Phone numbers in one chain of digit groups. A number starts at the chain's first group or
/// where the separator changes (`2026-12-05 555-123-4567`) and ends at the chain's last group or
/// where it changes (`555-123-4567 2 times`), so none is cut out of a longer run of same-looking
/// groups (`1234 0567 8901 2345`). From each possible start, the longest valid number.
fn phones_in_chain(bytes: &[u8], chain: &[Run], gaps: &[Gap], out: &mut Vec<Hit>) {
    let n = chain.len();
    let separator = |k: usize| gaps.get(k).map(|g| g.separator);
    let may_start = |k: usize| k == 0 || (k >= 2 && separator(k - 1) != separator(k - 2));
    let may_end = |k: usize| k + 1 == n || (k >= 1 && separator(k) != separator(k - 1));
    let mut i = 0;
    while i < n {
        if may_start(i) {
            let last = (i + MAX_PHONE_GROUPS - 1).min(n - 1);
            let found = (i..=last)
                .rev()
                .filter(|&j| may_end(j))
                .find_map(|j| phone_at(bytes, chain, gaps, i, j).map(|hit| (j, hit)));
            if let Some((j, hit)) = found {
                out.push(hit);
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
}

/// How a phone number begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lead {
    /// `+` and the country code.
    Plus,
    /// `(` around the first group (an area code).
    Paren,
    Plain,
}

/// Groups `i..=j` of a chain (and the gaps between them) as a phone number, if they have one of
/// the accepted forms.
fn phone_at(bytes: &[u8], chain: &[Run], gaps: &[Gap], i: usize, j: usize) -> Option<Hit> {
    let groups = chain.get(i..=j)?;
    let inner = gaps.get(i..j)?;
    let first = *groups.first()?;
    let last = *groups.last()?;
    let before = first
        .start
        .checked_sub(1)
        .and_then(|k| bytes.get(k))
        .copied();
    let lead = match before {
        Some(b'+') => Lead::Plus,
        Some(b'(') if inner.first().is_some_and(|g| g.close) => Lead::Paren,
        _ => Lead::Plain,
    };
    // Parentheses: each opened group is closed right after it, at most one of them, in the
    // middle of the number, of at most 5 digits.
    let mut paren = None;
    for (k, group) in groups.iter().enumerate() {
        let opened = if k == 0 {
            lead == Lead::Paren
        } else {
            inner.get(k - 1).is_some_and(|g| g.open)
        };
        let closed = inner.get(k).is_some_and(|g| g.close);
        if opened != closed {
            return None;
        }
        if opened {
            if paren.is_some() || group.len() > 5 {
                return None;
            }
            paren = Some(k);
        }
    }
    let digits = digits_of(bytes, groups);
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let shape = Shape {
        digits: &digits,
        lens: &lens,
        gaps: inner,
        paren,
    };
    let valid = match lead {
        Lead::Plus => shape.international(),
        Lead::Paren => shape.north_american() || shape.trunk(),
        Lead::Plain => shape.double_zero() || shape.north_american() || shape.trunk(),
    };
    if !valid {
        return None;
    }
    let (start, preview) = match lead {
        Lead::Plus => (first.start - 1, format!("+{}", digits_tail(&digits))),
        Lead::Paren => (first.start - 1, digits_tail(&digits)),
        Lead::Plain => (first.start, digits_tail(&digits)),
    };
    Some(Hit {
        start,
        end: last.end,
        preview,
    })
}

/// A candidate phone number's digit groups.
struct Shape<'a> {
    /// All digits, in order.
    digits: &'a [u8],
    /// Digits per group.
    lens: &'a [usize],
    /// Between consecutive groups.
    gaps: &'a [Gap],
    /// The group in parentheses, if any.
    paren: Option<usize>,
}

impl Shape<'_> {
    fn digit(&self, k: usize) -> u8 {
        self.digits.get(k).copied().unwrap_or(0)
    }

    /// The first digit of group `k`.
    fn group_first(&self, k: usize) -> u8 {
        self.digit(self.lens.iter().take(k).sum())
    }

    fn plain(gap: &Gap) -> bool {
        !gap.open && !gap.close && gap.separator.is_some()
    }

    /// `+` and a country code not starting with 0, then 8 to 15 digits in all; a `(0)` trunk
    /// prefix (`+44 (0)20 …`) does not count.
    fn international(&self) -> bool {
        let trunk_zero = self
            .paren
            .filter(|&k| self.lens.get(k) == Some(&1) && self.group_first(k) == b'0')
            .map_or(0, |_| 1);
        let counted = self.digits.len() - trunk_zero;
        self.digit(0) != b'0'
            && self.paren != Some(0)
            && (PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&counted)
    }

    /// `00`, a country code not starting with 0, 8 to 15 more digits, in two groups or more.
    fn double_zero(&self) -> bool {
        self.lens.len() >= 2
            && self.paren.is_none()
            && self.digit(0) == b'0'
            && self.digit(1) == b'0'
            && self.lens.first().is_some_and(|&l| l >= 2)
            && self.digit(2) != b'0'
            && (PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&(self.digits.len() - 2))
    }

    /// `[1 ]NXX NXX XXXX` with one separator throughout, or `(NXX) NXX-XXXX`.
    fn north_american(&self) -> bool {
        let one = self.lens.len() == 4 && self.lens.first() == Some(&1) && self.digit(0) == b'1';
        let area = usize::from(one);
        if self.lens.get(area..) != Some(&[3, 3, 4][..]) {
            return false;
        }
        let area_paren = self.paren == Some(area);
        if self.paren.is_some() && !area_paren {
            return false;
        }
        let (Some(to_exchange), Some(to_line)) = (self.gaps.get(area), self.gaps.get(area + 1))
        else {
            return false;
        };
        let digits_ok = matches!(self.group_first(area), b'2'..=b'9')
            && matches!(self.group_first(area + 1), b'2'..=b'9');
        let line_ok = Shape::plain(to_line) && to_line.separator != Some(b'/');
        let exchange_ok = if area_paren {
            !to_exchange.open
        } else {
            Shape::plain(to_exchange) && to_exchange.separator == to_line.separator
        };
        let one_ok = !one
            || self
                .gaps
                .first()
                .is_some_and(|g| !g.close && g.separator.is_some());
        digits_ok && line_ok && exchange_ok && one_ok
    }

    /// A trunk `0` (not `00`) area code of 2 to 5 digits, maybe in parentheses, then groups of
    /// 2+ digits joined by one separator throughout: 9 to 12 digits.
    fn trunk(&self) -> bool {
        let first_ok = self.digit(0) == b'0'
            && self.digit(1) != b'0'
            && self.lens.first().is_some_and(|l| (2..=5).contains(l));
        let rest_ok = self.lens.len() >= 2 && self.lens.iter().skip(1).all(|&l| l >= 2);
        let (rest_gaps, paren_ok) = match self.paren {
            None => (self.gaps, true),
            Some(0) => (
                self.gaps.get(1..).unwrap_or(&[]),
                self.gaps.first().is_some_and(|g| !g.open),
            ),
            Some(_) => (self.gaps, false),
        };
        let separator = rest_gaps.first().and_then(|g| g.separator);
        let gaps_ok = rest_gaps
            .iter()
            .all(|g| Shape::plain(g) && g.separator == separator);
        first_ok
            && rest_ok
            && paren_ok
            && gaps_ok
            && (NATIONAL_MIN_DIGITS..=NATIONAL_MAX_DIGITS).contains(&self.digits.len())
    }
}

// ---------------------------------------------------------------------------------------------
// HighEntropy

fn high_entropy(piece: &str, out: &mut Vec<Hit>) {
    let bytes = piece.as_bytes();
    for (start, end) in tokens(bytes) {
        let Some(token) = piece.get(start..end) else {
            continue;
        };
        if high_entropy_token(token) {
            out.push(Hit {
                start,
                end,
                preview: mask_tail("", token),
            });
        }
    }
}

/// The token rule of [`GuardrailDetector::HighEntropy`] (see the module documentation).
fn high_entropy_token(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes.len() >= HIGH_ENTROPY_MIN_CHARS
        && bytes.iter().any(u8::is_ascii_alphabetic)
        && bytes.iter().any(u8::is_ascii_digit)
        && !is_uuid(bytes)
        && !(bytes.len() <= HIGH_ENTROPY_HEX_MAX_CHARS && bytes.iter().all(u8::is_ascii_hexdigit))
        && !made_of_words(bytes)
        && shannon_bits(bytes) >= HIGH_ENTROPY_MIN_BITS
}

/// Identifiers, paths and slugs (`ThisIsAJavaClassName2`, `/usr/lib/python3/site-packages`,
/// `SELECT_id_FROM_users_42`): at least [`HIGH_ENTROPY_MAX_WORD_SHARE`] of the characters are in
/// words (an optional capital, then 3+ lower-case letters), or the token is 2+ parts split by
/// `/_-+=` each in one style (`word`, `Word`, `WORD`, each maybe with trailing digits, or
/// digits). Random base64 of 24+ characters is either in under 1% of cases.
fn made_of_words(bytes: &[u8]) -> bool {
    let mut in_words = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_lowercase) {
            i += 1;
            continue;
        }
        let capital = i > 0 && bytes.get(i - 1).is_some_and(u8::is_ascii_uppercase);
        let start = if capital { i - 1 } else { i };
        while bytes.get(i).is_some_and(u8::is_ascii_lowercase) {
            i += 1;
        }
        if i - start >= 4 {
            in_words += i - start;
        }
    }
    if in_words as f64 >= HIGH_ENTROPY_MAX_WORD_SHARE * bytes.len() as f64 {
        return true;
    }
    let parts = bytes
        .split(|b| matches!(b, b'/' | b'_' | b'-' | b'+' | b'='))
        .filter(|p| !p.is_empty());
    let mut count = 0;
    let one_style = |part: &[u8]| {
        let letters = part
            .iter()
            .position(|b| !b.is_ascii_alphabetic())
            .unwrap_or(part.len());
        let (word, digits) = part.split_at(letters);
        let tail = word.get(1..).unwrap_or(&[]);
        digits.iter().all(u8::is_ascii_digit)
            && (word.iter().all(u8::is_ascii_lowercase)
                || word.iter().all(u8::is_ascii_uppercase)
                || tail.iter().all(u8::is_ascii_lowercase))
    };
    for part in parts {
        if !one_style(part) {
            return false;
        }
        count += 1;
    }
    count >= 2
}

fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// Shannon entropy of the byte distribution, in bits per byte.
fn shannon_bits(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        if let Some(count) = counts.get_mut(usize::from(b)) {
            *count += 1;
        }
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    use super::*;

    /// (detector, matched text) of every finding.
    fn found(scanner: &Scanner, text: &str) -> Vec<(GuardrailDetector, String)> {
        scanner
            .scan(text)
            .iter()
            .map(|f| (f.detector, text[f.start..f.end].to_owned()))
            .collect()
    }

    fn defaults(text: &str) -> Vec<(GuardrailDetector, String)> {
        found(&Scanner::defaults(), text)
    }

    /// The values one detector alone finds.
    fn only(detector: GuardrailDetector, text: &str) -> Vec<String> {
        found(&Scanner::new(&[detector], &[]).unwrap(), text)
            .into_iter()
            .map(|(_, value)| value)
            .collect()
    }

    fn luhn_complete(body: &str) -> String {
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|n| luhn_ok(n.as_bytes()))
            .unwrap()
    }

    #[test]
    fn built_in_patterns_compile() {
        let b = &*BUILTINS;
        assert!(b.secret.is_some() && b.email.is_some() && b.iban_start.is_some());
        assert!(b.pem_begin.is_some() && b.pem_end.is_some());
        assert!(IBAN_LENGTHS.len() >= 30);
    }

    #[test]
    fn kinds_spell_and_rank() {
        for d in GuardrailDetector::ALL {
            assert_eq!(d.as_str().parse::<GuardrailDetector>().unwrap(), *d);
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                serde_json::json!(d.as_str())
            );
        }
        assert_eq!(GuardrailDetector::PaymentCard.as_str(), "payment_card");
        assert_eq!(GuardrailDetector::HighEntropy.as_str(), "high_entropy");
        for a in GuardrailAction::ALL {
            assert_eq!(a.as_str().parse::<GuardrailAction>().unwrap(), *a);
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::json!(a.as_str())
            );
        }
        use GuardrailAction::*;
        assert!(Allow < Redact && Redact < Ask && Ask < Block);
        assert_eq!(
            GuardrailAction::ALL
                .iter()
                .map(|a| a.rank())
                .collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!([Redact, Block, Allow].into_iter().max(), Some(Block));
    }

    #[test]
    fn emails() {
        let text = "Write to jane.doe+news@example.co.uk, or J_Smith@mail-1.example.org.";
        assert_eq!(
            only(GuardrailDetector::Email, text),
            ["jane.doe+news@example.co.uk", "J_Smith@mail-1.example.org"]
        );
        let f = Scanner::defaults().scan(text);
        assert_eq!(f[0].preview, "j***@example.co.uk");
        assert_eq!(f[1].preview, "J***@mail-1.example.org");
        assert_eq!(Scanner::defaults().scan("x a@b.io")[0].preview, "***@b.io");
        // A letter or digit right after the top-level domain: the address is the part before.
        assert_eq!(only(GuardrailDetector::Email, "a@b.io.GB82 x"), ["a@b.io"]);
        assert_eq!(
            only(GuardrailDetector::Email, "bob@mail.example.com.2x"),
            ["bob@mail.example.com"]
        );
        assert_eq!(
            only(GuardrailDetector::Email, "a@b.iosk-a.bAb3 x"),
            ["a@b.iosk"]
        );
        // The domain of what is not an address can be the local part of the next one.
        assert_eq!(
            only(GuardrailDetector::Email, "a@b.iox0132+jane.doe@example.org"),
            ["b.iox0132+jane.doe@example.org"]
        );
        for negative in [
            "user@localhost",
            "foo@bar",
            "a@b.c",
            "bob@example.com4",
            "bob@examplecom.x4",
            "@example.com",
            "send it @ example.com",
            "pip install pkg==1.2.3@latest",
            "Ordinary prose about mail servers and domains.",
        ] {
            assert_eq!(
                only(GuardrailDetector::Email, negative),
                Vec::<String>::new(),
                "{negative}"
            );
        }
    }

    #[test]
    fn phones() {
        for (text, number) in [
            ("Call +49 30 1234567 now", "+49 30 1234567"),
            ("Call +1 (415) 555-0132.", "+1 (415) 555-0132"),
            ("Ring +44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
            ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),
            ("mobile:+4915112345678", "+4915112345678"),
            ("0049 30 1234567", "0049 30 1234567"),
            ("(415) 555-0132", "(415) 555-0132"),
            ("415-555-0132", "415-555-0132"),
            ("415.555.0132", "415.555.0132"),
            ("1-415-555-0132", "1-415-555-0132"),
            ("Tel. 030 1234 5678", "030 1234 5678"),
            ("Tel. (030) 1234567", "(030) 1234567"),
            ("06 12 34 56 78", "06 12 34 56 78"),
            ("0151-12345678", "0151-12345678"),
            ("020 7946 0958", "020 7946 0958"),
            ("call me (0301 234 567) later", "0301 234 567"),
            ("Call 555-234-4567 2 times", "555-234-4567"),
            ("2026-12-05 555-234-4567", "555-234-4567"),
        ] {
            assert_eq!(only(GuardrailDetector::Phone, text), [number], "{text}");
        }
        for negative in [
            "2026-12-05",
            "05.12.2026",
            "12/05/2026",
            "at 12:30:45",
            "version 1.2.3",
            "build 10.0.19041.1234",
            "host 192.168.100.200",
            "0301234567890",
            "4242 4242 4242 4242",
            "1234 0567 8901 2345",
            "v0301-234-567",
            "ref-555-123-4567",
            "ISBN 978-3-16-148410-0",
            "123-456-7890",
            "+4930123",
            "1 000 000 people",
            "0.5 0.25 0.125",
            "in 2026 and 2027",
        ] {
            assert_eq!(
                only(GuardrailDetector::Phone, negative),
                Vec::<String>::new(),
                "{negative}"
            );
        }
    }

    #[test]
    fn payment_cards() {
        for (text, number) in [
            ("pay with 4242 4242 4242 4242 please", "4242 4242 4242 4242"),
            ("5555555555554444", "5555555555554444"),
            ("amex 378282246310005.", "378282246310005"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("6011-1111-1111-1117", "6011-1111-1111-1117"),
            ("diners 3056930009020004", "3056930009020004"),
            ("diners 36227206271667", "36227206271667"),
            ("jcb 3566002020360505", "3566002020360505"),
            ("unionpay 6200000000000005", "6200000000000005"),
            ("mc 2223003122003222", "2223003122003222"),
            ("card 4242 4242 4242 4242 123 (CVV)", "4242 4242 4242 4242"),
            ("card 4242 4242 4242 4242 12/28", "4242 4242 4242 4242"),
            ("id_4242424242424242", "4242424242424242"),
        ] {
            assert_eq!(
                only(GuardrailDetector::PaymentCard, text),
                [number],
                "{text}"
            );
        }
        let f = Scanner::defaults().scan("4242 4242 4242 4242");
        assert_eq!(f[0].preview, "**** **** **** 4242");
        let unknown_issuer = luhn_complete("999999999999999");
        for negative in [
            "4242424242424241",
            "4242 4242 4242 4241",
            "42424242424242424242",
            "1424242424242424242",
            "A4242424242424242",
            "4242424242424242x",
            "4242 4242-4242 4242",
            "42 42 42 42 42 42 42 42",
            unknown_issuer.as_str(),
            "order 1234567890123",
        ] {
            assert_eq!(
                only(GuardrailDetector::PaymentCard, negative),
                Vec::<String>::new(),
                "{negative}"
            );
        }
        // A card is not also a phone.
        assert_eq!(
            defaults("0412 3456 7890 1234 4242 4242 4242 4242"),
            [(
                GuardrailDetector::PaymentCard,
                "4242 4242 4242 4242".to_owned()
            )]
        );
    }

    #[test]
    fn ibans() {
        for (text, iban) in [
            (
                "IBAN: GB82 WEST 1234 5698 7654 32.",
                "GB82 WEST 1234 5698 7654 32",
            ),
            ("DE89370400440532013000", "DE89370400440532013000"),
            ("de89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00"),
            ("FR1420041010050500013M02606", "FR1420041010050500013M02606"),
            ("NL91ABNA0417164300", "NL91ABNA0417164300"),
            ("CH9300762011623852957", "CH9300762011623852957"),
            ("BE68539007547034", "BE68539007547034"),
            ("NO9386011117947", "NO9386011117947"),
            (
                "to PL61 1090 1014 0000 0712 1981 2874 by Friday",
                "PL61 1090 1014 0000 0712 1981 2874",
            ),
        ] {
            assert_eq!(only(GuardrailDetector::Iban, text), [iban], "{text}");
        }
        let f = Scanner::defaults().scan("GB82 WEST 1234 5698 7654 32");
        assert_eq!(f[0].detector, GuardrailDetector::Iban);
        assert_eq!(f[0].preview, "GB**…5432");
        for negative in [
            "GB83 WEST 1234 5698 7654 32",
            "DE88370400440532013000",
            "DE8937040044053201300",
            "DE893704004405320130001",
            "XX89370400440532013000",
            "DE89370400440532013000X",
            "XDE89370400440532013000",
            "DE89 37040044 0532013000",
            "DE89  3704 0044 0532 0130 00",
            "mp3 and ab12 are not accounts",
        ] {
            assert_eq!(
                only(GuardrailDetector::Iban, negative),
                Vec::<String>::new(),
                "{negative}"
            );
        }
    }

    #[test]
    fn secrets() {
        let aerie = crate::crypto::new_api_key();
        let aerie = aerie.key.expose_secret().to_owned();
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases = [
            (
                "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z".to_owned(),
                "sk-proj-…Xy4z",
            ),
            (
                "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0-AbCd".to_owned(),
                "sk-ant-…AbCd",
            ),
            ("sk-T3BlbkFJa1b2C3d4E5f6G7h8I9j0".to_owned(), "sk-…I9j0"),
            ("AKIAIOSFODNN7EXAMPLE".to_owned(), "AKIA…MPLE"),
            ("ASIAY34FZKBOKMUTVV7A".to_owned(), "ASIA…VV7A"),
            (format!("ghp_{}", "a1B2".repeat(9)), "ghp_…a1B2"),
            (
                format!("github_pat_11ABCDEFG0{}", "x9Y8".repeat(18)),
                "github_pat_…x9Y8",
            ),
            (
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx".to_owned(),
                "xoxb-…UvWx",
            ),
            (
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc".to_owned(),
                "sk_live_…p7dc",
            ),
            ("rk_live_51H8abcdEFGHijkl0123".to_owned(), "rk_live_…0123"),
            (
                "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q".to_owned(),
                "AIza…5p6Q",
            ),
            (jwt.to_owned(), "eyJ…sR8U"),
        ];
        for (secret, preview_end) in &cases {
            let text = format!("my key is {secret}, keep it safe");
            let f = Scanner::defaults().scan(&text);
            assert_eq!(f.len(), 1, "{text}: {f:?}");
            assert_eq!(f[0].detector, GuardrailDetector::Secret, "{text}");
            assert_eq!(&text[f[0].start..f[0].end], secret);
            assert_eq!(&f[0].preview, preview_end);
            assert!(!f[0].preview.contains(secret.as_str()));
        }
        let f = Scanner::defaults().scan(&format!("export AERIE_KEY={aerie}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].detector, GuardrailDetector::Secret);
        assert_eq!(f[0].end - f[0].start, aerie.len());
        let public = crate::crypto::api_key_prefix(&aerie).unwrap();
        assert!(f[0].preview.starts_with(public), "{}", f[0].preview);
        assert!(!f[0].preview.contains(&aerie[19..40]));

        for negative in [
            "use sk-learn-compatible-estimators-for-all-things",
            "task-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLE1",
            "xoxb-abcdefghijklmnop",
            "ghp_short",
            "sk-AKIAIOSFODNN7EXAMPL",
        ] {
            assert_eq!(
                only(GuardrailDetector::Secret, negative),
                Vec::<String>::new(),
                "{negative}"
            );
        }
        // A key inside a ruled-out match is still found.
        assert_eq!(
            only(GuardrailDetector::Secret, "sk-AKIAIOSFODNN7EXAMPLE"),
            ["AKIAIOSFODNN7EXAMPLE"]
        );
    }

    #[test]
    fn private_keys_whole_or_truncated() {
        let body =
            "MIIEpAIBAAKCAQEA7b9Zx1Q2w3E4r5T6y7U8i9O0p\nQ1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0\n";
        let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
        let text = format!("here:\n{pem}\nthanks");
        assert_eq!(defaults(&text), [(GuardrailDetector::Secret, pem.clone())]);
        let f = Scanner::defaults().scan(&text);
        assert_eq!(f[0].preview, "-----BEGIN RSA PRIVATE KEY-----…");

        let truncated = format!("-----BEGIN PRIVATE KEY-----\n{}", body.trim_end());
        let text = format!("{truncated}\n\nand the rest is prose 12");
        assert_eq!(defaults(&text), [(GuardrailDetector::Secret, truncated)]);

        let header_only = "-----BEGIN OPENSSH PRIVATE KEY-----";
        assert_eq!(
            defaults(&format!("{header_only} (cut)")),
            [(GuardrailDetector::Secret, header_only.to_owned())]
        );
        assert_eq!(
            defaults("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"),
            []
        );
    }

    #[test]
    fn high_entropy() {
        let token = "Zx8Qp2Lr7Vt4Nw9Ks3Hj6Fd1Gb5Mc0Ya";
        assert!(shannon_bits(token.as_bytes()) >= HIGH_ENTROPY_MIN_BITS);
        assert_eq!(
            defaults(&format!("the password is {token} ok")),
            [(GuardrailDetector::HighEntropy, token.to_owned())]
        );
        // `NAME=value`: only the value.
        assert_eq!(
            defaults(&format!("DB_PASSWORD={token}")),
            [(GuardrailDetector::HighEntropy, token.to_owned())]
        );
        // Base64 with padding.
        let padded = "dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSAxMjM0NQ==";
        assert_eq!(only(GuardrailDetector::HighEntropy, padded), [padded]);
        let f = Scanner::defaults().scan(token);
        assert_eq!(f[0].preview, "…c0Ya");
        for positive in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "MIIEpAIBAAKCAQEA7b9Zx1Q2w3E4r5T6y7U8i9O0p",
            "x7k2m9p4q8r1s5t3v6w0y2z4b8",
        ] {
            assert_eq!(only(GuardrailDetector::HighEntropy, positive), [positive]);
        }

        for negative in [
            "550e8400-e29b-41d4-a716-446655440000",
            "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "deadbeefcafebabe0123456789abcdef0123456789abcdef0123456789abcdef",
            "The quick brown fox jumps over the lazy dog, again and again, in 2026.",
            "state-of-the-art-retrieval-augmented-generation-2026",
            "internationalisation_and_localisation_v2",
            "/usr/local/lib/python3/site-packages/numpy",
            "aerie-backend-2026-12-05-release-candidate-1",
            "ZxQpLrVtNwKsHjFdGbMcYaBcDeFgHi",
            "getUserById2FactorAuthenticationHandler",
            "ThisIsAVeryLongJavaClassName2WithDigits",
            "SELECT_user_id_FROM_users_WHERE_id_42",
            "v1/projects/my-project-123/locations/us-central1/models",
            "Zx8Qp2Lr7Vt4Nw9Ks3Hj6F",
        ] {
            assert_eq!(
                only(GuardrailDetector::HighEntropy, negative),
                Vec::<String>::new(),
                "{negative}: {:.2} bits",
                shannon_bits(negative.as_bytes())
            );
        }
        // A known secret is a Secret, not also high-entropy.
        assert_eq!(
            defaults("AKIAIOSFODNN7EXAMPLE"),
            [(GuardrailDetector::Secret, "AKIAIOSFODNN7EXAMPLE".to_owned())]
        );
    }

    #[test]
    fn earlier_detectors_keep_what_they_claim() {
        assert_eq!(
            defaults("AKIAIOSFODNN7EXAMPLE.bob@example.com"),
            [
                (GuardrailDetector::Secret, "AKIAIOSFODNN7EXAMPLE".to_owned()),
                (GuardrailDetector::Email, ".bob@example.com".to_owned()),
            ]
        );
        // The IBAN's digits are not also a phone or a card.
        assert_eq!(
            defaults("DE89 3704 0044 0532 0130 00"),
            [(
                GuardrailDetector::Iban,
                "DE89 3704 0044 0532 0130 00".to_owned()
            )]
        );
        // An email's digits are not also a card.
        assert_eq!(
            defaults("4242424242424242@example.com"),
            [(
                GuardrailDetector::Email,
                "4242424242424242@example.com".to_owned()
            )]
        );
    }

    #[test]
    fn prose_has_no_findings() {
        let prose = "On 2026-12-05 at 14:30 we shipped version 2.4.1 to 1,200 customers in 12 \
            countries. The build (commit 9fceb02d) passed 3,456 tests in 78.9 s; see ticket \
            #4521 and RFC 5322 section 3.4.1. Revenue grew 12.5% to $4,200,000 in Q3 2026. \
            Meet in room 0.12 or call extension 4521. UUID 550e8400-e29b-41d4-a716-446655440000 \
            identifies the tenant; the ISBN is 978-3-16-148410-0.";
        assert_eq!(defaults(prose), []);
    }

    #[test]
    fn custom_patterns() {
        let scanner = Scanner::new(
            &[GuardrailDetector::Email],
            &[
                ("employee id".to_owned(), r"EMP-\d{6}".to_owned()),
                ("codename".to_owned(), r"(?i)project falcon".to_owned()),
                ("never".to_owned(), r"zzz-no-such-thing".to_owned()),
            ],
        )
        .unwrap();
        let text = "EMP-123456 on Project Falcon wrote to a.b@example.com; EMP-12345 did not.";
        let f = scanner.scan(text);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.detector, f.pattern.as_deref(), &text[f.start..f.end]))
            .collect();
        assert_eq!(
            got,
            [
                (GuardrailDetector::Custom, Some("employee id"), "EMP-123456"),
                (
                    GuardrailDetector::Custom,
                    Some("codename"),
                    "Project Falcon"
                ),
                (GuardrailDetector::Email, None, "a.b@example.com"),
            ]
        );
        assert_eq!(f[0].preview, "…3456");
        assert_eq!(
            redact(text, &f),
            "[REDACTED:employee id] on [REDACTED:codename] wrote to [REDACTED:email]; EMP-12345 did not."
        );
        // Custom patterns claim before the built-in detectors.
        let scanner = Scanner::new(
            &CLAIM_ORDER,
            &[("account".to_owned(), r"ACCT 4242 4242 4242 4242".to_owned())],
        )
        .unwrap();
        let f = scanner.scan("ACCT 4242 4242 4242 4242");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].pattern.as_deref(), Some("account"));
        // Patterns that match the empty string find nothing there.
        let scanner = Scanner::new(&[], &[("stars".to_owned(), "x*".to_owned())]).unwrap();
        assert_eq!(scanner.scan("ab xx c").len(), 1);
    }

    #[test]
    fn bad_custom_patterns_are_named() {
        let one = |name: &str, pattern: &str| {
            Scanner::new(&[], &[(name.to_owned(), pattern.to_owned())]).unwrap_err()
        };
        let e = one("orders", "ORD-(\\d+");
        assert!(
            e.contains("`orders`") && e.contains("not a valid regular expression"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = one("long one", &"a".repeat(MAX_PATTERN_CHARS + 1));
        assert!(e.contains("`long one`") && e.contains("too long"), "{e}");
        let e = one("huge", r"\w{500}\w{500}");
        assert!(e.contains("`huge`") && e.contains("too big"), "{e}");
        let e = one("blank", "  ");
        assert!(e.contains("`blank`") && e.contains("empty"), "{e}");
        let e = one(" ", "abc");
        assert!(e.contains("name"), "{e}");
        let many: Vec<(String, String)> = (0..=MAX_CUSTOM_PATTERNS)
            .map(|i| (format!("p{i}"), format!("x{i}")))
            .collect();
        assert!(Scanner::new(&[], &many).unwrap_err().contains("At most"));
        assert!(Scanner::new(&[], &many[..MAX_CUSTOM_PATTERNS]).is_ok());
    }

    #[test]
    fn redaction_is_robust_to_odd_findings() {
        let text = "héllo wörld 4242 4242 4242 4242";
        let f = Scanner::defaults().scan(text);
        assert_eq!(redact(text, &f), "héllo wörld [REDACTED:payment_card]");
        let odd = |start, end| Finding {
            detector: GuardrailDetector::Custom,
            pattern: Some("x".to_owned()),
            start,
            end,
            preview: String::new(),
        };
        // Not on char boundaries (inside é and ö), unsorted, overlapping, past the end.
        let findings = [odd(8, 9), odd(2, 3), odd(1, 4), odd(29, 999), odd(5, 5)];
        assert_eq!(
            redact(text, &findings),
            "h[REDACTED:x]lo w[REDACTED:x]rld 4242 4242 4242 [REDACTED:x]"
        );
        assert_eq!(redact("", &findings), "");
    }

    #[test]
    fn large_inputs_do_not_panic() {
        let digits = "1 ".repeat(200_000);
        assert!(Scanner::defaults().scan(&digits).is_empty());
        let mixed = "4242 4242 4242 4242 +49 30 1234567 a@b.io Zx8Qp2Lr7Vt4Nw9Ks3Hj6Fd1Gb5Mc0Ya "
            .repeat(2_000);
        assert_eq!(Scanner::defaults().scan(&mixed).len(), 8_000);
        // Ruled-out key-like matches inside one long run: linear, not quadratic.
        let started = std::time::Instant::now();
        assert!(
            Scanner::defaults()
                .scan(&"sk-a-".repeat(200_000))
                .is_empty()
        );
        assert!(
            Scanner::defaults()
                .scan(&"sk-a-".repeat(40).repeat(5_000))
                .is_empty()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        let headers = "-----BEGIN PRIVATE KEY-----\nAAAA\n".repeat(5_000);
        assert_eq!(Scanner::defaults().scan(&headers).len(), 5_000);
    }

    /// Pieces that make detectors fire, half-fire and collide.
    const PIECES: &[&str] = &[
        " ",
        " ",
        " ",
        "-",
        ".",
        "/",
        "(",
        ")",
        "+",
        "=",
        "_",
        ":",
        "\n",
        "@",
        "x",
        "é",
        "日本",
        "0",
        "1",
        "4",
        "00",
        "12",
        "030",
        "415",
        "555",
        "0132",
        "4242",
        "1234",
        "2026-12-05",
        "4242 4242 4242 4242",
        "5555555555554444",
        "378282246310005",
        "+49 30 1234567",
        "(415) 555-0132",
        "030 1234 5678",
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "DE89",
        "WEST",
        "bob",
        "example.com",
        "a@b.io",
        "jane.doe@example.org",
        "sk-",
        "sk-proj-",
        "Ab3dEf6hIj9kLm2nOp5qRs8t",
        "AKIA",
        "AKIAIOSFODNN7EXAMPLE",
        "IOSFODNN7EXAMPLE",
        "ghp_",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7b9Zx1Q2",
        "Zx8Qp2Lr7Vt4Nw9Ks3Hj6Fd1",
        "Gb5Mc0Ya",
        "KEY=",
        "==",
        "aerie_",
        "AbCdEfGhIjKl",
        "the ",
        "card ",
        "call ",
        "%",
        "iox",
        "x0",
        "Ab1c",
        "_",
        "sk-AKIAIOSFODNN7EXAMPLE",
        "xoxb-",
        "(0",
        "+4915112345678",
        "0301-234-567",
        "555 234 4567",
        "1-",
        "NO9386011117947",
        "no93",
        "GB82WEST12345698765432",
        "b-",
        "8-",
        "4000056655665556",
        "x@y.de",
        ".x4",
        "ASIA",
        "0000",
        "3704",
        "/",
        "9",
        "a.b",
        "+jane",
        ".io",
        ".GB82",
        "2",
        "7",
        "(0)",
        "+1",
        "0049",
        "06 12 34 56 78",
    ];

    fn pieces() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
    }

    /// The invariants of every scan, and that redaction is final.
    fn check(text: &str) -> Result<(), TestCaseError> {
        let scanner = Scanner::defaults();
        let findings = scanner.scan(text);
        for pair in findings.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?}", findings);
        }
        for f in &findings {
            prop_assert!(f.start < f.end && f.end <= text.len());
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            let value = &text[f.start..f.end];
            prop_assert!(f.preview != value || value.chars().count() < 4, "{f:?}");
        }
        let redacted = redact(text, &findings);
        let again = scanner.scan(&redacted);
        prop_assert!(
            again.is_empty(),
            "text {text:?}\nredacted {redacted:?}\nfinds {:?}",
            again
                .iter()
                .map(|f| (f.detector, &redacted[f.start..f.end]))
                .collect::<Vec<_>>()
        );
        Ok(())
    }

    #[test]
    fn redaction_is_final_on_cases_that_once_were_not() {
        for text in [
            "a@b.io.GB82 WEST 1234 5698 7654 32==",
            "a@b.iox0132Ab3dEf6hIj9kLm2nOp5qRs8t+jane.doe@example.org",
            "Ab3dEf6hIj9kLm2nOp5qRs8txDE89370400440532013000xa@b.io0a@b.ioWEST ",
            "a@b.iosk-a.bAb3dEf6hIj9kLm2nOp5qRs8t  ",
            "a@b.iosk-AKIAIOSFODNN7EXAMPLE ",
            "a@b.io.sk-AKIAIOSFODNN7EXAMPLE.x4",
            "0301 234 567 8-Ab1cZx8Qp2Lr7Vt4Nw9Ks3Hj6Fd1",
            "4242 4242 4242 4242 0301 234 567",
        ] {
            check(text).unwrap();
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_scans_cleanly(text in any::<String>()) {
            check(&text)?;
            let findings = Scanner::defaults().scan(&text);
            let redacted = redact(&text, &findings);
            for f in &findings {
                prop_assert!(!redacted.contains(&text[f.start..f.end]));
            }
        }

        #[test]
        fn detector_soup_scans_cleanly(text in pieces()) {
            check(&text)?;
        }

        #[test]
        fn character_soup_scans_cleanly(text in "[0-9 ()+./@=_:-]{0,40}|[0-9 ()+./@=_a-fkosxA-FGIKS-]{0,80}") {
            check(&text)?;
        }

        #[test]
        fn embedded_cards_are_found_and_removed(
            issuer in prop::sample::select(&["4", "51", "55", "2221", "2720", "34", "37", "6011", "65", "3528", "62", "36"][..]),
            body in "[0-9]{18}",
            grouping in 0..3usize,
            before in prop::collection::vec(prop::sample::select(&["the", "card", "is", "Paid", "with", "ok,", "(see", "—", "on"][..]), 0..8),
            after in prop::collection::vec(prop::sample::select(&["the", "card", "is", "Paid", "with", "ok,", "see)", "—", "."][..]), 0..8),
        ) {
            let length = match issuer {
                "34" | "37" => 15,
                "36" => 14,
                _ => 16,
            };
            let digits = luhn_complete(&format!("{issuer}{body}")[..length - 1]);
            prop_assume!(card_number_ok(digits.as_bytes()));
            // How issuers print them: 4-6-4 (14 digits), 4-6-5 (15), fours otherwise.
            let sizes: &[usize] = match length {
                14 => &[4, 6, 4],
                15 => &[4, 6, 5],
                _ => &[4, 4, 4, 4],
            };
            let mut groups = Vec::new();
            let mut rest = digits.as_str();
            for &size in sizes {
                let (group, tail) = rest.split_at(size);
                groups.push(group);
                rest = tail;
            }
            let shown = match grouping {
                0 => digits.clone(),
                1 => groups.join(" "),
                _ => groups.join("-"),
            };
            let text = format!("{} {shown} {}", before.join(" "), after.join(" "));
            let findings = Scanner::defaults().scan(&text);
            prop_assert!(
                findings.iter().any(|f| f.detector == GuardrailDetector::PaymentCard
                    && text[f.start..f.end] == shown),
                "{text:?}: {findings:?}"
            );
            let redacted = redact(&text, &findings);
            prop_assert!(!redacted.contains(&shown) && !redacted.contains(&digits), "{redacted}");
            prop_assert!(redacted.contains("[REDACTED:payment_card]"));
            check(&text)?;
        }
    }
}
