//! The client's address: the TCP peer, or, when the peer is one of the operator's trusted
//! reverse proxies (`trusted_proxies`), the right-most `X-Forwarded-For` hop that is not a
//! trusted proxy. Hops to the left of that one were written by the client and prove nothing.
//! Rate limits and the audit trail use this address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The reverse proxies whose `X-Forwarded-For` is believed: CIDRs (`10.0.0.0/8`) or single
/// addresses. Written in TOML as a list or in one string separated by commas or spaces (the
/// environment variable `AERIE_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs or addresses; names the first entry that is neither.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in entries
            .into_iter()
            .flat_map(|e| e.split([',', ' ', '\t', '\n']))
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let net = IpNet::from_str(entry)
                .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                .map_err(|_| format!("{entry:?} is neither an IP address nor a CIDR"))?;
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `ip` lies in one of the trusted networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let entries = match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        };
        Self::parse(entries.iter().map(String::as_str)).map_err(serde::de::Error::custom)
    }
}

/// The client of a request that reached us from `peer` with these `X-Forwarded-For` header
/// values (in the order received). Without a trusted peer the headers are ignored. Hops are
/// read right to left, skipping trusted proxies; the first other address is the client. A hop
/// that is not an address (the client may write anything there) ends the walk at the last
/// trusted proxy. IPv4-mapped IPv6 addresses count as IPv4.
pub fn client_ip<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let mut client = peer;
    for value in forwarded_for.rev() {
        let Ok(value) = std::str::from_utf8(value) else {
            return Some(client);
        };
        for hop in value.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                return Some(client);
            };
            if !trusted.contains(ip) {
                return Some(ip);
            }
            client = ip;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| SocketAddr::from_str(hop).ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The key rate limits count a client under: its IPv4 address, or its IPv6 /64 (one
/// subscriber's network; addresses inside it cost an attacker nothing).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse([list]).unwrap()
    }

    fn resolve(peer: &str, headers: &[&str], list: &str) -> Option<IpAddr> {
        client_ip(
            Some(peer.parse().unwrap()),
            headers.iter().map(|h| h.as_bytes()),
            &trusted(list),
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            resolve("198.51.100.7", &["1.2.3.4"], ""),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve("198.51.100.7", &["1.2.3.4"], "10.0.0.0/8"),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(None, std::iter::empty(), &trusted("")), None);
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let list = "10.0.0.0/8, 127.0.0.1";
        // nginx appended the client; the client forged the hop on the left.
        assert_eq!(
            resolve("127.0.0.1", &["6.6.6.6, 203.0.113.9"], list),
            ip("203.0.113.9")
        );
        // Two proxies, over two header lines.
        assert_eq!(
            resolve("10.0.0.1", &["6.6.6.6", "203.0.113.9, 10.0.0.2"], list),
            ip("203.0.113.9")
        );
        // Ports and IPv4-mapped addresses.
        assert_eq!(
            resolve("::ffff:127.0.0.1", &["[2001:db8::1]:443"], list),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve("127.0.0.1", &["::ffff:203.0.113.9"], list),
            ip("203.0.113.9")
        );
        // No header, or only proxies: the last proxy is the client.
        assert_eq!(resolve("10.0.0.1", &[], list), ip("10.0.0.1"));
        assert_eq!(resolve("10.0.0.1", &["10.0.0.2"], list), ip("10.0.0.2"));
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(
            resolve("10.0.0.1", &["203.0.113.9, nonsense, 10.0.0.3"], list),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn lists_parse_from_strings_and_name_bad_entries() {
        let t = trusted("10.0.0.0/8 192.168.1.1,fd00::/8");
        assert!(t.contains("10.1.2.3".parse().unwrap()));
        assert!(t.contains("192.168.1.1".parse().unwrap()));
        assert!(!t.contains("192.168.1.2".parse().unwrap()));
        assert!(t.contains("fd12::1".parse().unwrap()));
        let err = TrustedProxies::parse(["10.0.0.0/8", "nginx"]).unwrap_err();
        assert!(err.contains("nginx"), "{err}");
        assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a = limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = limit_key("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        let c = limit_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            limit_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    proptest! {
        /// No header value a client can send panics, and the answer is always the peer or an
        /// address the headers named.
        #[test]
        fn arbitrary_headers_never_panic(
            peer in any_ip(),
            headers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
            text in proptest::collection::vec("\\PC*", 0..4),
            trust_peer in any::<bool>(),
        ) {
            let list = if trust_peer { format!("{peer}") } else { String::new() };
            let trusted = TrustedProxies::parse([list.as_str()]).unwrap();
            let values: Vec<&[u8]> = headers
                .iter()
                .map(Vec::as_slice)
                .chain(text.iter().map(|t| t.as_bytes()))
                .collect();
            let got = client_ip(Some(peer), values.iter().copied(), &trusted);
            prop_assert!(got.is_some());
            let _ = got.map(limit_key);
        }

        /// Arbitrary text in the setting is refused or parsed, never a panic.
        #[test]
        fn arbitrary_settings_never_panic(entries in proptest::collection::vec("\\PC*", 0..4)) {
            let _ = TrustedProxies::parse(entries.iter().map(String::as_str));
        }
    }
}
