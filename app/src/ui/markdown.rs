//! Markdown of chat answers, rendered to HTML that is safe to set with `inner_html`.
//!
//! A model's answer is untrusted text (a prompt injection can write it), so the renderer only
//! ever emits the tags it builds itself:
//! - raw HTML (blocks and inline) is shown as escaped text, never interpreted;
//! - links keep their `href` only for `http(s):`, `mailto:` and relative URLs (`javascript:`,
//!   `data:` and the rest lose it);
//! - images are never loaded: their alt text is shown as a link to the image;
//! - code blocks get `<pre><code class="language-x">` and a small token highlighter
//!   ([`highlight`]); every piece of text is HTML-escaped.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Renders Markdown to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut w = Writer::default();
    for event in Parser::new_ext(markdown, options) {
        w.event(event);
    }
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Inside a code block: its language and text so far.
    code: Option<(String, String)>,
    /// The closing tag of each open link or image.
    closers: Vec<&'static str>,
    /// Inside a table's head row (cells are `<th>`).
    table_head: bool,
}

impl Writer {
    fn event(&mut self, event: Event<'_>) {
        if let Some((_, buf)) = self.code.as_mut() {
            match event {
                Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) | Event::Code(t) => {
                    buf.push_str(&t);
                    return;
                }
                Event::End(TagEnd::CodeBlock) => {}
                _ => return,
            }
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => escape_into(&mut self.out, &t),
            Event::Code(t) => {
                self.out.push_str("<code>");
                escape_into(&mut self.out, &t);
                self.out.push_str("</code>");
            }
            // Raw HTML is shown, not interpreted.
            Event::Html(t)
            | Event::InlineHtml(t)
            | Event::InlineMath(t)
            | Event::DisplayMath(t) => {
                escape_into(&mut self.out, &t);
            }
            Event::FootnoteReference(name) => {
                self.out.push_str("<sup>[");
                escape_into(&mut self.out, &name);
                self.out.push_str("]</sup>");
            }
            Event::SoftBreak => self.out.push('\n'),
            Event::HardBreak => self.out.push_str("<br>\n"),
            Event::Rule => self.out.push_str("<hr>\n"),
            Event::TaskListMarker(done) => self.out.push_str(if done {
                "<input type=\"checkbox\" disabled checked> "
            } else {
                "<input type=\"checkbox\" disabled> "
            }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let out = &mut self.out;
        match tag {
            Tag::Paragraph => out.push_str("<p>"),
            Tag::Heading { level, .. } => {
                out.push_str("<h");
                out.push_str(heading(level));
                out.push('>');
            }
            Tag::BlockQuote(_) => out.push_str("<blockquote>\n"),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => language(&info),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            // Shown as text (see `Event::Html`), in a paragraph of its own.
            Tag::HtmlBlock => out.push_str("<p>"),
            Tag::List(Some(1)) => out.push_str("<ol>\n"),
            Tag::List(Some(start)) => out.push_str(&format!("<ol start=\"{start}\">\n")),
            Tag::List(None) => out.push_str("<ul>\n"),
            Tag::Item => out.push_str("<li>"),
            Tag::FootnoteDefinition(name) => {
                out.push_str("<div class=\"footnote\"><sup>");
                escape_into(out, &name);
                out.push_str("</sup> ");
            }
            Tag::Table(_) => out.push_str("<table>"),
            Tag::TableHead => {
                self.table_head = true;
                out.push_str("<thead><tr>");
            }
            Tag::TableRow => out.push_str("<tr>"),
            Tag::TableCell => out.push_str(if self.table_head { "<th>" } else { "<td>" }),
            Tag::Emphasis => out.push_str("<em>"),
            Tag::Strong => out.push_str("<strong>"),
            Tag::Strikethrough => out.push_str("<del>"),
            Tag::Superscript => out.push_str("<sup>"),
            Tag::Subscript => out.push_str("<sub>"),
            Tag::Link {
                dest_url, title, ..
            } => {
                if safe_url(&dest_url) {
                    out.push_str("<a href=\"");
                    escape_into(out, &dest_url);
                    out.push('"');
                    if !title.is_empty() {
                        out.push_str(" title=\"");
                        escape_into(out, &title);
                        out.push('"');
                    }
                    out.push_str(" rel=\"noopener noreferrer nofollow\" target=\"_blank\">");
                } else {
                    out.push_str("<a>");
                }
                self.closers.push("</a>");
            }
            // Never loaded: the alt text links to the image.
            Tag::Image { dest_url, .. } => {
                if safe_url(&dest_url) {
                    out.push_str("<a class=\"image-link\" href=\"");
                    escape_into(out, &dest_url);
                    out.push_str("\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">🖼 ");
                    self.closers.push("</a>");
                } else {
                    out.push_str("<span class=\"image-link\">🖼 ");
                    self.closers.push("</span>");
                }
            }
            Tag::DefinitionList => out.push_str("<dl>"),
            Tag::DefinitionListTitle => out.push_str("<dt>"),
            Tag::DefinitionListDefinition => out.push_str("<dd>"),
            Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        if tag == TagEnd::CodeBlock {
            if let Some((lang, code)) = self.code.take() {
                self.out.push_str("<pre><code");
                if !lang.is_empty() {
                    self.out.push_str(" class=\"language-");
                    self.out.push_str(&lang);
                    self.out.push('"');
                }
                self.out.push('>');
                self.out.push_str(&highlight(&lang, &code));
                self.out.push_str("</code></pre>\n");
            }
            return;
        }
        let close: &str = match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock => "</p>\n",
            TagEnd::Heading(level) => {
                self.out.push_str("</h");
                self.out.push_str(heading(level));
                ">\n"
            }
            TagEnd::BlockQuote(_) => "</blockquote>\n",
            TagEnd::List(true) => "</ol>\n",
            TagEnd::List(false) => "</ul>\n",
            TagEnd::Item => "</li>\n",
            TagEnd::FootnoteDefinition => "</div>\n",
            TagEnd::Table => "</tbody></table>\n",
            TagEnd::TableHead => {
                self.table_head = false;
                "</tr></thead><tbody>\n"
            }
            TagEnd::TableRow => "</tr>\n",
            TagEnd::TableCell => {
                if self.table_head {
                    "</th>"
                } else {
                    "</td>"
                }
            }
            TagEnd::Emphasis => "</em>",
            TagEnd::Strong => "</strong>",
            TagEnd::Strikethrough => "</del>",
            TagEnd::Superscript => "</sup>",
            TagEnd::Subscript => "</sub>",
            TagEnd::Link | TagEnd::Image => self.closers.pop().unwrap_or(""),
            TagEnd::DefinitionList => "</dl>\n",
            TagEnd::DefinitionListTitle => "</dt>\n",
            TagEnd::DefinitionListDefinition => "</dd>\n",
            TagEnd::CodeBlock | TagEnd::MetadataBlock(_) => "",
        };
        self.out.push_str(close);
    }
}

fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "1",
        HeadingLevel::H2 => "2",
        HeadingLevel::H3 => "3",
        HeadingLevel::H4 => "4",
        HeadingLevel::H5 => "5",
        HeadingLevel::H6 => "6",
    }
}

/// The language of a fence's info string (`rust,ignore` → `rust`), letters, digits and `+-_#.`
/// only (it lands in a class attribute).
fn language(info: &str) -> String {
    info.split([' ', ',', '{'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '#' | '.'))
        .take(32)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `http:`, `https:`, `mailto:` or relative (no scheme). Anything with whitespace or control
/// characters is refused, since browsers skip those inside a scheme (`java\tscript:`).
fn safe_url(url: &str) -> bool {
    let url = url.trim();
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    // A scheme is what comes before the first `:` if no `/`, `?` or `#` comes earlier.
    match url.find([':', '/', '?', '#']) {
        Some(i) if url[i..].starts_with(':') => {
            let scheme = url[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Appends `text` with `& < > " '` escaped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Keywords of common languages (Rust, Python, JavaScript/TypeScript, Go, C-family, Java,
/// shell); SQL's are matched case-insensitively from [`SQL_KEYWORDS`].
#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "abstract", "and", "as", "async", "await", "bool", "boolean", "break", "case", "catch",
    "char", "chan", "class", "const", "continue", "crate", "def", "default", "defer", "del", "do",
    "done", "double", "elif", "else", "enum", "esac", "except", "export", "extends", "extern",
    "false", "fi", "final", "finally", "float", "fn", "for", "from", "func", "function", "go",
    "if", "impl", "import", "in", "include", "instanceof", "int", "interface", "is", "lambda",
    "let", "long", "loop", "match", "mod", "move", "mut", "new", "nil", "None", "nonlocal", "not",
    "null", "or", "package", "pass", "private", "protected", "pub", "public", "raise", "range",
    "ref", "return", "self", "Self", "static", "string", "struct", "super", "switch", "then",
    "this", "throw", "throws", "trait", "true", "True", "False", "try", "type", "typeof",
    "undefined", "unsafe", "use", "using", "var", "void", "where", "while", "with", "yield",
    "Some", "Ok", "Err",
];

#[rustfmt::skip]
const SQL_KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE",
    "TABLE", "DROP", "ALTER", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "ON", "GROUP", "BY",
    "ORDER", "HAVING", "LIMIT", "OFFSET", "AND", "OR", "NOT", "NULL", "AS", "DISTINCT", "UNION",
    "INDEX", "PRIMARY", "KEY", "REFERENCES", "IS", "IN", "LIKE", "BETWEEN", "CASE", "WHEN",
    "THEN", "ELSE", "END", "WITH", "RETURNING",
];

/// How a language writes comments.
struct Syntax {
    line_comments: &'static [&'static str],
    block_comments: bool,
    sql: bool,
    /// `'` starts a string only as a char literal (Rust lifetimes are not strings).
    short_single_quotes: bool,
}

fn syntax(lang: &str) -> Syntax {
    let c_like = Syntax {
        line_comments: &["//"],
        block_comments: true,
        sql: false,
        short_single_quotes: false,
    };
    match lang {
        "rust" | "rs" => Syntax {
            short_single_quotes: true,
            ..c_like
        },
        "python" | "py" | "ruby" | "rb" | "sh" | "bash" | "shell" | "zsh" | "console" | "yaml"
        | "yml" | "toml" | "perl" | "r" | "dockerfile" | "makefile" | "ini" | "conf" => Syntax {
            line_comments: &["#"],
            block_comments: false,
            ..c_like
        },
        "sql" | "psql" | "sqlite" | "postgres" | "postgresql" => Syntax {
            line_comments: &["--"],
            sql: true,
            ..c_like
        },
        "lua" | "haskell" | "hs" => Syntax {
            line_comments: &["--"],
            block_comments: false,
            ..c_like
        },
        "" | "text" | "txt" | "plain" => Syntax {
            line_comments: &["//", "#"],
            ..c_like
        },
        _ => c_like,
    }
}

fn span(out: &mut String, class: &str, text: &str) {
    out.push_str("<span class=\"");
    out.push_str(class);
    out.push_str("\">");
    escape_into(out, text);
    out.push_str("</span>");
}

/// A small generic highlighter: keywords, strings, numbers and comments become
/// `<span class="tok-kw|tok-str|tok-num|tok-com">`; all text is HTML-escaped.
pub fn highlight(lang: &str, code: &str) -> String {
    let syn = syntax(lang);
    let chars: Vec<char> = code.chars().collect();
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let starts_with = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    let mut out = String::with_capacity(code.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Comments.
        if let Some(marker) = syn.line_comments.iter().find(|m| starts_with(i, m)) {
            let end = (i + marker.len()..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len());
            span(&mut out, "tok-com", &text(i, end));
            i = end;
            continue;
        }
        if syn.block_comments && starts_with(i, "/*") {
            let end = (i + 2..chars.len())
                .find(|&j| starts_with(j, "*/"))
                .map_or(chars.len(), |j| j + 2);
            span(&mut out, "tok-com", &text(i, end));
            i = end;
            continue;
        }
        // Strings: to the closing quote (backslash escapes), a line at most except backticks.
        if matches!(c, '"' | '\'' | '`') {
            let mut j = i + 1;
            let mut closed = None;
            while j < chars.len() {
                match chars[j] {
                    '\\' => j += 2,
                    '\n' if c != '`' => break,
                    q if q == c => {
                        closed = Some(j + 1);
                        break;
                    }
                    _ => j += 1,
                }
            }
            // In Rust, `'` is a char literal only as `'x'` or `'\…'` (else a lifetime).
            let short_enough = !(c == '\'' && syn.short_single_quotes)
                || closed.is_some_and(|end| end - i == 3 || chars.get(i + 1) == Some(&'\\'));
            if let Some(end) = closed.filter(|_| short_enough) {
                span(&mut out, "tok-str", &text(i, end));
                i = end;
                continue;
            }
            escape_into(&mut out, &c.to_string());
            i += 1;
            continue;
        }
        // Numbers (not inside identifiers).
        if c.is_ascii_digit() {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || matches!(chars[j], '.' | '_')))
                .unwrap_or(chars.len());
            span(&mut out, "tok-num", &text(i, end));
            i = end;
            continue;
        }
        // Identifiers and keywords.
        if c.is_alphabetic() || c == '_' {
            let end = (i..chars.len())
                .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let word = text(i, end);
            let keyword = if syn.sql {
                SQL_KEYWORDS.contains(&word.to_ascii_uppercase().as_str())
            } else {
                KEYWORDS.contains(&word.as_str())
            };
            if keyword {
                span(&mut out, "tok-kw", &word);
            } else {
                escape_into(&mut out, &word);
            }
            i = end;
            continue;
        }
        escape_into(&mut out, &c.to_string());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_escaped() {
        let html = render("Hi <script>alert(1)</script>\n\n<script>\nalert(2)\n</script>\n");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;\nalert(2)"), "{html}");
        let html = render("<img src=x onerror=alert(1)>");
        assert!(!html.contains("<img"), "{html}");
    }

    /// Named entities come from pulldown-cmark's table (a patched copy: vendor/pulldown-cmark):
    /// first, last, two-character and unknown names.
    #[test]
    fn named_entities_are_decoded() {
        let html = render("&AElig; &zwnj; &copy; &ngE; &NewLine; AT&amp;T &notanentity; &zzz;");
        assert!(
            html.contains(
                "\u{c6} \u{200c} \u{a9} \u{2267}\u{338} \n AT&amp;T &amp;notanentity; &amp;zzz;"
            ),
            "{html}"
        );
    }

    #[test]
    fn unsafe_links_lose_their_href() {
        let html = render("[x](javascript:alert(1))");
        assert!(!html.contains("href"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("<a>x</a>"), "{html}");
        for bad in ["JavaScript:alert(1)", "data:text/html,hi", "vbscript:x"] {
            let html = render(&format!("[x]({bad})"));
            assert!(!html.contains("href"), "{bad}: {html}");
        }
        let html =
            render("[site](https://example.com/a?b=1&c=2 \"T\") [mail](mailto:a@b.c) [rel](/chat)");
        assert!(
            html.contains("href=\"https://example.com/a?b=1&amp;c=2\" title=\"T\""),
            "{html}"
        );
        assert!(html.contains("href=\"mailto:a@b.c\""), "{html}");
        assert!(html.contains("href=\"/chat\""), "{html}");
    }

    #[test]
    fn images_are_not_loaded() {
        let html = render("![a cat](https://example.com/cat.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/cat.png\""),
            "{html}"
        );
        assert!(html.contains("a cat"), "{html}");
        let html = render("![x](javascript:alert(1))");
        assert!(!html.contains("href"), "{html}");
    }

    #[test]
    fn code_blocks_are_highlighted_and_escaped() {
        let html = render("```rust\nfn main() { let s = \"<b>\"; // hi\n  let n = 42; }\n```\n");
        assert!(
            html.contains("<pre><code class=\"language-rust\">"),
            "{html}"
        );
        assert!(html.contains("<span class=\"tok-kw\">fn</span>"), "{html}");
        assert!(
            html.contains("<span class=\"tok-str\">&quot;&lt;b&gt;&quot;</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"tok-com\">// hi</span>"),
            "{html}"
        );
        assert!(html.contains("<span class=\"tok-num\">42</span>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        let html = render("```python\n# note\nx = 'a'\n```");
        assert!(
            html.contains("<span class=\"tok-com\"># note</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"tok-str\">&#39;a&#39;</span>"),
            "{html}"
        );
        let html = render("```sql\nselect * from t -- all\n```");
        assert!(
            html.contains("<span class=\"tok-kw\">select</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"tok-com\">-- all</span>"),
            "{html}"
        );
        // A Rust lifetime is not a string.
        let html = highlight("rust", "fn f<'a>(x: &'a str) -> &'a str { x }");
        assert!(!html.contains("tok-str"), "{html}");
        // The info string cannot break out of the class attribute.
        let html = render("```x\"><script>\nhi\n```");
        assert!(html.contains("class=\"language-xscript\""), "{html}");
    }

    #[test]
    fn common_markdown() {
        let html = render("# Title\n\n*a* **b** `c<d>`\n\n- one\n- two\n\n| h |\n|---|\n| v |\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(
            html.contains("<em>a</em> <strong>b</strong> <code>c&lt;d&gt;</code>"),
            "{html}"
        );
        assert!(html.contains("<ul>\n<li>one</li>"), "{html}");
        assert!(
            html.contains("<thead><tr><th>h</th></tr></thead><tbody>"),
            "{html}"
        );
        assert!(html.contains("<td>v</td>"), "{html}");
    }
}
