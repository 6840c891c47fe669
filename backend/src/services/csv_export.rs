//! CSV exports streamed from the database a page at a time (`GET /api/usage.csv`,
//! `GET /api/guardrails/events.csv`): a page of [`ROWS_PER_PAGE`] rows in memory, and no
//! database connection held while the client reads — an export of a million rows runs in
//! constant memory.

use std::future::Future;

use sea_orm::DbErr;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Rows read (and written as one chunk of CSV text) at a time.
pub const ROWS_PER_PAGE: u64 = 500;

/// An export in flight: its file name and the CSV text, chunk by chunk.
pub struct Export {
    pub file_name: String,
    pub body: ReceiverStream<std::result::Result<String, std::io::Error>>,
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(64 * 1024))
}

/// Streams `header`, then the rows of every page: `page(after)` reads up to [`ROWS_PER_PAGE`]
/// rows after the `key` of the previous page's last row (keyset paging), until a page comes
/// back short. A failure ends the stream with an error (logged as `what`'s export).
pub fn stream<R, K, P, F, W, Row>(
    file_name: String,
    what: &'static str,
    header: &'static [&'static str],
    mut page: P,
    key: fn(&R) -> K,
    row: W,
) -> Export
where
    R: Send + Sync + 'static,
    K: Send + 'static,
    P: FnMut(Option<K>) -> F + Send + 'static,
    F: Future<Output = Result<Vec<R>, DbErr>> + Send,
    W: Fn(&R) -> Row + Send + 'static,
    Row: IntoIterator<Item = String>,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let fail = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, export = what, "an export stopped");
            std::io::Error::other(format!("the {what} export stopped"))
        };
        let mut csv = writer();
        let _ = csv.write_record(header);
        let mut after = None;
        loop {
            let rows = match page(after.take()).await {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(fail(&e))).await;
                    return;
                }
            };
            for r in &rows {
                if let Err(e) = csv.write_record(row(r)) {
                    let _ = tx.send(Err(fail(&e))).await;
                    return;
                }
            }
            let done = (rows.len() as u64) < ROWS_PER_PAGE;
            after = rows.last().map(key);
            let chunk = match csv.into_inner() {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => {
                    let _ = tx.send(Err(fail(&e))).await;
                    return;
                }
            };
            csv = writer();
            if tx.send(Ok(chunk)).await.is_err() || done {
                return;
            }
        }
    });
    Export {
        file_name,
        body: ReceiverStream::new(rx),
    }
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, carriage return at
/// its start) is prefixed with `'` (OWASP's CSV injection advice): names, models, patterns and
/// previews come from people.
pub(crate) fn safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_kept() {
        assert_eq!(safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe("+1"), "'+1");
        assert_eq!(safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe("gpt-4o"), "gpt-4o");
        assert_eq!(safe(""), "");
    }
}
