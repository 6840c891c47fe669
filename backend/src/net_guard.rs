//! The SSRF guard for every request the server makes on someone's behalf: the agents' HTTP tool,
//! provider base URLs set by organisation admins, single sign-on (discovery, keys, tokens,
//! profiles, SAML metadata), and later webhooks.
//!
//! What it protects against (see `docs/SECURITY.md`, "Server-side requests"): a user or a model
//! making Aerie's server reach what only the server can reach, i.e. loopback services, the
//! private network, link-local and cloud metadata endpoints (`169.254.169.254`,
//! `fd00:ec2::254`), whether named directly, through an IP literal in an unusual spelling
//! (`http://0x7f000001/`, `http://[::ffff:127.0.0.1]/`), through an IPv6 prefix embedding an IPv4
//! address (NAT64, 6to4), through a DNS name that resolves there, through a DNS answer that
//! changes between the check and the connection (DNS rebinding) or through a redirect.
//!
//! The layers:
//! - [`check_url`]: syntax, `http`/`https` only, no credentials in the URL, IP literals checked.
//! - [`check_url_resolved`]: the same plus a DNS look-up; refused if *any* address is forbidden.
//!   This is a courtesy for a clear early error, not the protection itself.
//! - [`client_builder`]: a `reqwest` client whose DNS resolver refuses forbidden addresses at
//!   connection time (the connection uses the address that was checked, so a rebinding DNS
//!   server cannot swap it afterwards), whose redirect policy re-checks every hop, and which
//!   ignores proxy settings from the environment.
//! - [`GuardedClient`]: such a client whose only way to send is [`GuardedClient::request`], which
//!   runs [`check_url`] first. IP-literal hosts never reach a DNS resolver, so without that check
//!   a request to an IP literal would not be checked at all; with it, literals and names are
//!   checked alike on every request, whoever builds the URL.
//!
//! What may be reached anyway is an [`Allow`]: nothing beyond public addresses (the default),
//! everything (`true`, an operator's choice, e.g. for a local Ollama), or listed networks (e.g.
//! the one in-house identity provider). The scheme and credential rules always apply.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::{Host, Url};

/// Which addresses that are not public a guarded request may reach anyway. `false` converts to
/// none, `true` to all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    all: bool,
    networks: Arc<[IpNet]>,
}

impl Allow {
    /// Private addresses in `networks` only (e.g. `10.0.5.7/32` for an in-house IdP).
    pub fn networks(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            all: false,
            networks: networks.into_iter().collect(),
        }
    }

    /// Whether a request may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.all || !is_forbidden_ip(ip) || self.networks.iter().any(|n| n.contains(&ip))
    }
}

impl From<bool> for Allow {
    fn from(all: bool) -> Self {
        Self {
            all,
            networks: Arc::from([]),
        }
    }
}

impl From<&Allow> for Allow {
    fn from(allow: &Allow) -> Self {
        allow.clone()
    }
}

/// Parses a comma-separated list of networks (`10.0.5.0/24`) or single addresses (`10.0.5.7`).
pub fn parse_networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP network (e.g. 10.0.5.0/24) or address"))
        })
        .collect()
}

/// Redirects a guarded client follows before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// How long a DNS look-up may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a URL was refused. `Display` is a sentence that can be shown to users (and models).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The URL cannot be parsed or is not acceptable (no host, credentials in it, …).
    #[error("The URL is not valid: {0}.")]
    BadUrl(String),
    /// Not `http` or `https`.
    #[error("Only http:// and https:// URLs are allowed.")]
    Scheme,
    /// The host is, or resolves to, a forbidden address. Carries the host (and the address).
    #[error("The URL points to a private or loopback address ({0}), which is not allowed.")]
    ForbiddenAddress(String),
    /// The host name could not be resolved. Carries the host.
    #[error("The host name {0} could not be resolved.")]
    Resolve(String),
}

/// Why a redirect was not followed. `Display` is a sentence that can be shown to users.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// More than [`MAX_REDIRECTS`] redirects in a row.
    #[error("The URL redirected more than {MAX_REDIRECTS} times, which is not allowed.")]
    TooMany,
    /// The redirect target failed [`check_url`].
    #[error("A redirect was refused: {0}")]
    Refused(GuardError),
}

/// Whether server-side requests must never reach `ip`: anything that is not a public unicast
/// address (loopback, private, link-local, CGNAT, unspecified, broadcast, multicast,
/// documentation, benchmarking, reserved), including IPv6 forms that embed such an IPv4 address.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

/// IPv4 ranges that are not public unicast (IANA special-purpose registry), as (network, prefix).
const FORBIDDEN_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),     // "this network", includes 0.0.0.0
    (Ipv4Addr::new(10, 0, 0, 0), 8),    // private
    (Ipv4Addr::new(100, 64, 0, 0), 10), // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),   // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16), // link-local, includes cloud metadata 169.254.169.254
    (Ipv4Addr::new(172, 16, 0, 0), 12), // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),  // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),  // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24), // former 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16), // private
    (Ipv4Addr::new(198, 18, 0, 0), 15), // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24), // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),   // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),   // reserved, includes broadcast 255.255.255.255
];

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    FORBIDDEN_V4.iter().any(|&(net, prefix)| {
        let mask = u32::MAX << (32 - u32::from(prefix));
        bits & mask == u32::from(net) & mask
    })
}

/// Whether `ip` lies in `net/prefix`.
fn in_v6(ip: u128, net: u128, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    ip & mask == net & mask
}

/// The IPv4 address in the low 32 bits of `ip`.
fn low_v4(ip: u128) -> Ipv4Addr {
    // Truncation is the point: the low 32 bits are the embedded address.
    Ipv4Addr::from((ip & 0xffff_ffff) as u32)
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    // IPv4-mapped ::ffff:a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d: really the IPv4 address.
    if in_v6(bits, 0xffff << 32, 96) || in_v6(bits, 0xffff << 64, 96) {
        return is_forbidden_v4(low_v4(bits));
    }
    // ::/96: unspecified, loopback and the deprecated IPv4-compatible addresses; none is usable.
    if in_v6(bits, 0, 96) {
        return true;
    }
    // NAT64 well-known prefix 64:ff9b::/96: a gateway connects to the embedded IPv4 address.
    if in_v6(bits, 0x0064_ff9b << 96, 96) {
        return is_forbidden_v4(low_v4(bits));
    }
    // 6to4 2002::/16: the IPv4 address sits in bits 16..48.
    if in_v6(bits, 0x2002 << 112, 16) {
        // Truncation is the point: these 32 bits are the embedded address.
        return is_forbidden_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    const FORBIDDEN_V6: &[(u128, u32)] = &[
        (0x0064_ff9b_0001 << 80, 48), // local-use NAT64 (RFC 8215)
        (0x0100 << 112, 64),          // discard-only
        (0x2001 << 112, 23), // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
        (0x2001_0db8 << 96, 32), // documentation
        (0x3fff << 112, 20), // documentation (RFC 9637)
        (0x5f00 << 112, 16), // segment routing SIDs
        (0xfc00 << 112, 7),  // unique local, includes fd00:ec2::254 (cloud metadata)
        (0xfe80 << 112, 10), // link-local
        (0xfec0 << 112, 10), // site-local (deprecated)
        (0xff00 << 112, 8),  // multicast
    ];
    if FORBIDDEN_V6
        .iter()
        .any(|&(net, prefix)| in_v6(bits, net, prefix))
    {
        return true;
    }
    // Everything else outside global unicast 2000::/3 is unassigned or reserved.
    !in_v6(bits, 0x2000 << 112, 3)
}

/// Parses and checks a URL without any network access: `http`/`https` only, a host, no user
/// name or password, and an IP-literal host must be public or allowed. IP literals in any
/// spelling are normalised by the parser first (`0x7f000001` is `127.0.0.1`). `localhost` and
/// `*.localhost` are refused without a look-up unless everything is allowed.
pub fn check_url(url: &str, allow: impl Into<Allow>) -> Result<Url, GuardError> {
    let allow = allow.into();
    let parsed = Url::parse(url.trim()).map_err(|e| GuardError::BadUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(GuardError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::BadUrl(
            "a user name or password in the URL is not allowed".into(),
        ));
    }
    let forbidden = match parsed.host() {
        None => return Err(GuardError::BadUrl("it has no host".into())),
        Some(_) if allow.all => false,
        Some(Host::Ipv4(ip)) => !allow.permits(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => !allow.permits(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if forbidden {
        return Err(GuardError::ForbiddenAddress(host_for_display(&parsed)));
    }
    Ok(parsed)
}

/// The host as users wrote it, without IPv6 brackets.
fn host_for_display(url: &Url) -> String {
    match url.host() {
        Some(Host::Ipv6(ip)) => ip.to_string(),
        Some(host) => host.to_string(),
        None => String::new(),
    }
}

/// [`check_url`], then resolves a domain host and refuses the URL if *any* of its addresses is
/// forbidden and not allowed. Gives a clear early answer; the guarded client checks the
/// addresses again when it connects.
pub async fn check_url_resolved(url: &str, allow: impl Into<Allow>) -> Result<Url, GuardError> {
    let allow = allow.into();
    let parsed = check_url(url, &allow)?;
    if let Some(Host::Domain(name)) = parsed.host() {
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addrs = resolve(name, port).await?;
        refuse_forbidden(name, &addrs, &allow)?;
    }
    Ok(parsed)
}

/// Resolves `host` with the system resolver (through tokio), with a time limit.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)));
    match lookup.await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(GuardError::Resolve(host.to_owned()))
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(host, error = %e, "DNS look-up failed");
            Err(GuardError::Resolve(host.to_owned()))
        }
        Err(_) => {
            tracing::debug!(host, "DNS look-up timed out");
            Err(GuardError::Resolve(host.to_owned()))
        }
    }
}

/// Refuses `host` if any of its addresses is forbidden and not allowed, naming the first one.
fn refuse_forbidden(host: &str, addrs: &[SocketAddr], allow: &Allow) -> Result<(), GuardError> {
    match addrs.iter().find(|a| !allow.permits(a.ip())) {
        Some(bad) => Err(GuardError::ForbiddenAddress(format!(
            "{host} → {}",
            bad.ip()
        ))),
        None => Ok(()),
    }
}

/// The DNS resolver of guarded clients: resolves with tokio and refuses a name if any of its
/// addresses is forbidden and not allowed. The connection then goes to one of exactly these
/// addresses, so DNS rebinding cannot slip a private address in after a check.
#[derive(Clone, Debug)]
struct GuardedResolver {
    allow: Allow,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0 is replaced by reqwest with the URL's port.
            let addrs = resolve(&host, 0).await?;
            refuse_forbidden(&host, &addrs, &allow)?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Decides whether a guarded client follows a redirect to `next`, `hops_so_far` being the
/// number of URLs already requested in the chain (the original one included).
pub fn check_redirect(
    next: &Url,
    hops_so_far: usize,
    allow: impl Into<Allow>,
) -> Result<(), RedirectError> {
    if hops_so_far > MAX_REDIRECTS {
        return Err(RedirectError::TooMany);
    }
    check_url(next.as_str(), allow)
        .map(drop)
        .map_err(RedirectError::Refused)
}

/// The redirect policy of guarded clients: at most [`MAX_REDIRECTS`] hops, each target checked
/// with [`check_url`] (which matters for IP literals, which never reach the resolver).
pub fn redirect_policy(allow: impl Into<Allow>) -> reqwest::redirect::Policy {
    let allow = allow.into();
    reqwest::redirect::Policy::custom(move |attempt| {
        match check_redirect(attempt.url(), attempt.previous().len(), &allow) {
            Ok(()) => attempt.follow(),
            Err(e) => attempt.error(e),
        }
    })
}

/// A `reqwest` client builder for server-side requests: the guarded DNS resolver, the guarded
/// redirect policy, no proxy from the environment, `TCP_NODELAY`. Callers add their own
/// timeouts, and must check a URL with [`check_url`] / [`check_url_resolved`] before requesting
/// it (IP-literal hosts do not go through the resolver); [`GuardedClient`] does that itself.
pub fn client_builder(allow: impl Into<Allow>) -> reqwest::ClientBuilder {
    let allow = allow.into();
    // reqwest panics when building a client without a rustls crypto provider; start-up installs
    // ring, this only makes sure (it does nothing when one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .dns_resolver(GuardedResolver {
            allow: allow.clone(),
        })
        .redirect(redirect_policy(allow))
}

/// A guarded client that cannot be asked to skip the guard: [`GuardedClient::request`] is its
/// only way to send, and checks the URL (IP literals included) before anything goes out; names
/// are checked by its resolver when it connects, each redirect by its redirect policy.
#[derive(Clone, Debug)]
pub struct GuardedClient {
    client: reqwest::Client,
    allow: Allow,
}

impl GuardedClient {
    /// A client with `timeout` per request (and at most 5 s to connect); `follow_redirects:
    /// false` answers redirects instead of following them (each one followed is checked).
    pub fn new(
        allow: impl Into<Allow>,
        timeout: Duration,
        follow_redirects: bool,
    ) -> Result<Self, reqwest::Error> {
        let allow = allow.into();
        let mut builder = client_builder(&allow)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout);
        if !follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        Ok(Self {
            client: builder.build()?,
            allow,
        })
    }

    /// A request to `url`, once [`check_url`] accepts it.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, GuardError> {
        let url = check_url(url, &self.allow)?;
        Ok(self.client.request(method, url))
    }

    /// What this client may reach beyond public addresses.
    pub fn allow(&self) -> &Allow {
        &self.allow
    }
}

/// If `err` (or anything in its chain of sources) was raised by this guard (a refused address or
/// redirect, or a failed look-up), the sentence that explains it. Use it to turn a
/// `reqwest::Error` from a guarded client into a message for users.
pub fn refusal_message(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return Some(guard.to_string());
        }
        if let Some(redirect) = e.downcast_ref::<RedirectError>() {
            return Some(redirect.to_string());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_addresses() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::8.8.8.8",
            "100::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2002:0a00:0001::1",
            "2002:a9fe:a9fe::1",
            "3fff::1",
            "fc00::1",
            "fd00:ec2::254",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "4000::1",
        ] {
            assert!(is_forbidden_ip(ip(s)), "{s} should be forbidden");
        }
    }

    #[test]
    fn public_addresses() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "9.9.9.9",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
            "2001:4860:4860::8888",
        ] {
            assert!(!is_forbidden_ip(ip(s)), "{s} should be allowed");
        }
    }

    fn refused(url: &str) -> GuardError {
        check_url(url, false).unwrap_err()
    }

    #[test]
    fn check_url_refuses_private_literals() {
        for (url, shown) in [
            ("http://127.0.0.1/", "127.0.0.1"),
            ("http://[::1]/", "::1"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://017700000001/", "127.0.0.1"),
            ("http://127.1:8080/", "127.0.0.1"),
            ("http://127.0.0.1./", "127.0.0.1"),
            ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
            ("http://localhost/", "localhost"),
            ("http://api.LOCALHOST./", "api.localhost."),
        ] {
            let err = refused(url);
            assert!(
                matches!(&err, GuardError::ForbiddenAddress(h) if h == shown),
                "{url}: {err:?}"
            );
        }
        assert_eq!(
            refused("http://127.0.0.1/").to_string(),
            "The URL points to a private or loopback address (127.0.0.1), which is not allowed."
        );
    }

    #[test]
    fn url_parser_normalises_numeric_hosts() {
        let url = check_url("http://0x7f000001/", true).unwrap();
        assert_eq!(url.host(), Some(Host::Ipv4(Ipv4Addr::LOCALHOST)));
        assert_eq!(url.as_str(), "http://127.0.0.1/");
    }

    #[test]
    fn check_url_refuses_bad_urls() {
        assert!(matches!(refused("file:///etc/passwd"), GuardError::Scheme));
        assert!(matches!(
            refused("gopher://example.com/"),
            GuardError::Scheme
        ));
        assert!(matches!(refused("ftp://example.com/"), GuardError::Scheme));
        assert!(matches!(refused("not a url"), GuardError::BadUrl(_)));
        assert!(matches!(refused(""), GuardError::BadUrl(_)));
        let err = refused("http://user:pass@example.com/");
        assert!(matches!(err, GuardError::BadUrl(_)), "{err:?}");
        assert!(err.to_string().contains("user name or password"), "{err}");
        assert!(matches!(
            refused("http://user@example.com/"),
            GuardError::BadUrl(_)
        ));
        // Private addresses are fine when allowed; the other rules still apply.
        assert!(check_url("http://127.0.0.1:11434/", true).is_ok());
        assert!(matches!(
            check_url("file:///etc/passwd", true),
            Err(GuardError::Scheme)
        ));
    }

    #[test]
    fn check_url_accepts_public_urls() {
        for url in [
            "https://example.com/path?q=1",
            "http://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "  https://example.com/  ",
        ] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn check_url_resolved_refuses_names_of_private_addresses() {
        let err = check_url_resolved("http://localhost/", false)
            .await
            .unwrap_err();
        assert!(matches!(err, GuardError::ForbiddenAddress(_)), "{err:?}");
        let err = check_url_resolved("http://no-such-host.invalid/", false)
            .await
            .unwrap_err();
        assert!(matches!(err, GuardError::Resolve(_)), "{err:?}");
        assert!(check_url_resolved("http://localhost/", true).await.is_ok());
    }

    #[test]
    fn redirects_are_checked() {
        let to = |s: &str| Url::parse(s).unwrap();
        assert!(check_redirect(&to("https://example.com/next"), 1, false).is_ok());
        for target in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://0x7f000001/",
            "http://localhost:8080/",
        ] {
            let err = check_redirect(&to(target), 1, false).unwrap_err();
            assert!(
                err.to_string().contains("private or loopback"),
                "{target}: {err}"
            );
        }
        assert!(matches!(
            check_redirect(&to("file:///etc/passwd"), 1, true),
            Err(RedirectError::Refused(GuardError::Scheme))
        ));
        assert!(check_redirect(&to("http://127.0.0.1/"), 1, true).is_ok());
        assert!(check_redirect(&to("https://example.com/"), MAX_REDIRECTS, false).is_ok());
        assert!(matches!(
            check_redirect(&to("https://example.com/"), MAX_REDIRECTS + 1, false),
            Err(RedirectError::TooMany)
        ));
    }

    /// A one-route HTTP server on 127.0.0.1; `/` answers "hello", `/to?u` redirects to `u`.
    async fn serve() -> SocketAddr {
        use axum::extract::RawQuery;
        use axum::response::Redirect;
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "hello" }))
            .route(
                "/to",
                axum::routing::get(|RawQuery(q): RawQuery| async move {
                    Redirect::temporary(&q.unwrap_or_default())
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    fn client(allow_private: bool) -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        client_builder(allow_private)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn guarded_client_refuses_names_of_loopback_addresses() {
        let addr = serve().await;
        let url = format!("http://localhost:{}/", addr.port());
        let err = client(false).get(&url).send().await.unwrap_err();
        let message = refusal_message(&err).unwrap_or_default();
        assert!(
            message.contains("private or loopback") && message.contains("localhost"),
            "{err:?}"
        );

        let body = client(true)
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
    }

    #[tokio::test]
    async fn guarded_client_rechecks_redirects() {
        let addr = serve().await;
        // A public-looking name pinned to the test server (overrides skip the resolver), which
        // redirects to loopback: an IP literal (the redirect policy refuses it) and a name (the
        // resolver refuses it).
        let client = client_builder(false)
            .resolve("public.example", addr)
            .build()
            .unwrap();
        let port = addr.port();
        for target in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://localhost:{port}/"),
        ] {
            let url = format!("http://public.example:{port}/to?{target}");
            let err = client.get(&url).send().await.unwrap_err();
            let message = refusal_message(&err).unwrap_or_default();
            assert!(message.contains("private or loopback"), "{target}: {err:?}");
        }
        // Allowed when private addresses are.
        let client = client_builder(true)
            .resolve("public.example", addr)
            .build()
            .unwrap();
        let url = format!("http://public.example:{port}/to?http://127.0.0.1:{port}/");
        let body = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(body, "hello");
    }

    fn nets(list: &str) -> Allow {
        Allow::networks(parse_networks(list).unwrap())
    }

    #[test]
    fn listed_networks_are_allowed_and_nothing_else() {
        assert_eq!(
            parse_networks(" 10.0.5.0/24, 127.0.0.2 ,fd00::/64,")
                .unwrap()
                .len(),
            3
        );
        assert!(parse_networks("10.0.5.0/33").is_err());
        assert!(parse_networks("intranet").is_err());
        assert!(parse_networks("").unwrap().is_empty());

        let allow = nets("127.0.0.2, 10.0.5.0/24");
        for url in [
            "http://127.0.0.2:8080/",
            "http://10.0.5.7/",
            "https://example.com/",
        ] {
            assert!(check_url(url, &allow).is_ok(), "{url}");
        }
        for url in [
            "http://127.0.0.1/",
            "http://10.0.6.1/",
            "http://169.254.169.254/",
            "http://[::1]/",
            "http://localhost/",
        ] {
            assert!(
                matches!(check_url(url, &allow), Err(GuardError::ForbiddenAddress(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn guarded_client_checks_ip_literals_on_every_request() {
        let addr = serve().await;
        let url = format!("http://{addr}/");
        let refused = GuardedClient::new(false, Duration::from_secs(10), true).unwrap();
        let err = refused.request(reqwest::Method::GET, &url).unwrap_err();
        assert!(
            matches!(err, GuardError::ForbiddenAddress(ref h) if h == "127.0.0.1"),
            "{err:?}"
        );

        let allowed =
            GuardedClient::new(nets(&addr.ip().to_string()), Duration::from_secs(10), true)
                .unwrap();
        let body = allowed
            .request(reqwest::Method::GET, &url)
            .unwrap()
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
        // A redirect from the allowed address to another private one is still refused.
        let hop = format!("http://{addr}/to?http://169.254.169.254/latest/meta-data");
        let err = allowed
            .request(reqwest::Method::GET, &hop)
            .unwrap()
            .send()
            .await
            .unwrap_err();
        let message = refusal_message(&err).unwrap_or_default();
        assert!(message.contains("169.254.169.254"), "{err:?}");
    }
}
