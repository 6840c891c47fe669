//! Reading XML with `roxmltree` (no DTD, no external entities, node limit), the namespaces and
//! algorithm allow-lists of SAML, and the structural checks made before and after xmlsec verifies
//! a signature.

use roxmltree::{Document, Node, ParsingOptions};

use super::Refusal;

pub(super) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(super) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(super) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(super) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(super) const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
pub(super) const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Most nodes a SAML message or metadata document may have.
const NODES_LIMIT: u32 = 100_000;

/// Canonicalization methods accepted in `SignedInfo` and as reference transforms.
const C14N_ALLOWED: &[&str] = &[
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
];
const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Signature methods accepted: RSA (PKCS#1 v1.5) and ECDSA with SHA-256 or better.
pub(super) const SIGNATURE_ALLOWED: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];

/// Reference digests accepted.
pub(super) const DIGEST_ALLOWED: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];

/// Parses an XML document for reading: refuses a DOCTYPE (so no entity can be declared), an
/// encoding other than UTF-8 (the bytes were already decoded as UTF-8; libxml2 would honour the
/// declaration and see another document) and more than [`NODES_LIMIT`] nodes.
pub(super) fn parse(xml: &str) -> Result<Document<'_>, String> {
    if xml.contains("<!DOCTYPE") {
        return Err("a DOCTYPE declaration is not allowed".to_owned());
    }
    check_encoding_declaration(xml)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(xml, options).map_err(|e| format!("invalid XML: {e}"))
}

fn check_encoding_declaration(xml: &str) -> Result<(), String> {
    let xml = xml.trim_start_matches('\u{feff}');
    let Some(rest) = xml.strip_prefix("<?xml") else {
        return Ok(());
    };
    let Some(end) = rest.find("?>") else {
        return Err("unterminated XML declaration".to_owned());
    };
    let declaration = &rest[..end];
    let Some(at) = declaration.find("encoding") else {
        return Ok(());
    };
    let value = declaration[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let quote = v.chars().next()?;
            if quote != '"' && quote != '\'' {
                return None;
            }
            let v = &v[1..];
            v.find(quote).map(|close| &v[..close])
        })
        .ok_or_else(|| "malformed encoding in the XML declaration".to_owned())?;
    if value.eq_ignore_ascii_case("utf-8") {
        Ok(())
    } else {
        Err(format!(
            "the XML declares encoding {value:?}; only UTF-8 is accepted"
        ))
    }
}

/// Whether `node` is the element `{ns}local`.
pub(super) fn is(node: Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == local
}

/// The child elements `{ns}local` of `node`.
pub(super) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The child element `{ns}local` of `node`; an error when there are several.
pub(super) fn child_at_most_one<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> Result<Option<Node<'a, 'i>>, String> {
    let mut found = children(node, ns, local);
    let first = found.next();
    if found.next().is_some() {
        return Err(format!(
            "several {local} elements in {}",
            node.tag_name().name()
        ));
    }
    Ok(first)
}

/// The whole text content of an element: every descendant text node (CDATA included)
/// concatenated, so a comment splitting the text (`a<!---->b`) cannot truncate it.
pub(super) fn text_content(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// The text of an element that must hold text only (no child element), trimmed.
pub(super) fn simple_text(node: Node<'_, '_>) -> Result<String, String> {
    if node.children().any(|c| c.is_element()) {
        return Err(format!("{} must contain text only", node.tag_name().name()));
    }
    Ok(text_content(node).trim().to_owned())
}

/// Every ID-like attribute (`ID`, `Id`, `id`, `xml:id`) must be unique in the document:
/// a duplicate is how a forged element is made to answer a signature's reference.
pub(super) fn check_unique_ids(doc: &Document<'_>) -> Result<(), Refusal> {
    let mut seen = std::collections::HashSet::new();
    for node in doc.descendants().filter(Node::is_element) {
        for attr in node.attributes() {
            let id_like = match attr.namespace() {
                None => matches!(attr.name(), "ID" | "Id" | "id"),
                Some(ns) => ns == NS_XML && attr.name() == "id",
            };
            if id_like && !seen.insert(attr.value()) {
                return Err(Refusal::SignatureWrapping(format!(
                    "the ID {:?} appears twice",
                    truncate(attr.value())
                )));
            }
        }
    }
    Ok(())
}

/// The signature (`ds:Signature` child) of an element, if any; several are refused.
pub(super) fn signature_of<'a, 'i>(node: Node<'a, 'i>) -> Result<Option<Node<'a, 'i>>, Refusal> {
    child_at_most_one(node, NS_DS, "Signature").map_err(Refusal::SignatureWrapping)
}

/// Every `ds:Signature` in the document must be the direct child of one of `allowed_parents`.
pub(super) fn check_signature_placement(
    doc: &Document<'_>,
    allowed_parents: &[Node<'_, '_>],
) -> Result<(), Refusal> {
    for sig in doc.descendants().filter(|n| is(*n, NS_DS, "Signature")) {
        let parent_ok = sig
            .parent_element()
            .is_some_and(|p| allowed_parents.iter().any(|a| a.id() == p.id()));
        if !parent_ok {
            return Err(Refusal::SignatureWrapping(format!(
                "a signature sits in an unexpected place (inside {})",
                sig.parent_element()
                    .map(|p| p.tag_name().name().to_owned())
                    .unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// Checks a `ds:Signature` before xmlsec sees it: allow-listed algorithms, exactly one
/// reference, pointing at `#target_id` (the element the signature is enveloped in), only the
/// enveloped-signature and canonicalization transforms, no `ds:Object`.
pub(super) fn check_signature(sig: Node<'_, '_>, target_id: &str) -> Result<(), Refusal> {
    let malformed = |what: &str| Refusal::Malformed(format!("the signature {what}"));
    if children(sig, NS_DS, "Object").next().is_some() {
        return Err(Refusal::SignatureWrapping(
            "the signature carries an Object element".to_owned(),
        ));
    }
    let signed_info = child_at_most_one(sig, NS_DS, "SignedInfo")
        .map_err(Refusal::SignatureWrapping)?
        .ok_or_else(|| malformed("has no SignedInfo"))?;
    let c14n = child_at_most_one(signed_info, NS_DS, "CanonicalizationMethod")
        .map_err(Refusal::Malformed)?
        .and_then(|n| n.attribute("Algorithm"))
        .ok_or_else(|| malformed("has no CanonicalizationMethod"))?;
    if !C14N_ALLOWED.contains(&c14n) {
        return Err(Refusal::WeakAlgorithm(format!("canonicalization {c14n}")));
    }
    let method = child_at_most_one(signed_info, NS_DS, "SignatureMethod")
        .map_err(Refusal::Malformed)?
        .and_then(|n| n.attribute("Algorithm"))
        .ok_or_else(|| malformed("has no SignatureMethod"))?;
    if !SIGNATURE_ALLOWED.contains(&method) {
        return Err(Refusal::WeakAlgorithm(format!("signature method {method}")));
    }
    let references: Vec<_> = children(signed_info, NS_DS, "Reference").collect();
    let [reference] = references.as_slice() else {
        return Err(Refusal::SignatureWrapping(format!(
            "the signature has {} references (exactly one is accepted)",
            references.len()
        )));
    };
    let uri = reference.attribute("URI").unwrap_or_default();
    if uri.strip_prefix('#') != Some(target_id) {
        return Err(Refusal::SignatureWrapping(format!(
            "the signature references {:?}, not the element it is in ({:?})",
            truncate(uri),
            truncate(target_id)
        )));
    }
    if let Some(transforms) =
        child_at_most_one(*reference, NS_DS, "Transforms").map_err(Refusal::Malformed)?
    {
        for transform in transforms.children().filter(Node::is_element) {
            let algorithm = transform.attribute("Algorithm").unwrap_or_default();
            if !is(transform, NS_DS, "Transform")
                || !(algorithm == ENVELOPED_SIGNATURE || C14N_ALLOWED.contains(&algorithm))
            {
                return Err(Refusal::WeakAlgorithm(format!("transform {algorithm}")));
            }
        }
    }
    let digest = child_at_most_one(*reference, NS_DS, "DigestMethod")
        .map_err(Refusal::Malformed)?
        .and_then(|n| n.attribute("Algorithm"))
        .ok_or_else(|| malformed("reference has no DigestMethod"))?;
    if !DIGEST_ALLOWED.contains(&digest) {
        return Err(Refusal::WeakAlgorithm(format!("digest {digest}")));
    }
    Ok(())
}

/// Cuts a value quoted in a message to a sane length.
pub(super) fn truncate(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

/// Escapes text for an XML text node or a double-quoted attribute value.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}
