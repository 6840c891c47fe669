//! A knowledge base's documents: uploading files, the list with each document's ingestion
//! status, deleting one, and reindexing them all.
//!
//! Each chosen or dropped file is its own `POST /api/knowledge/{id}/documents` (multipart), sent
//! with `XMLHttpRequest` rather than a server function or `fetch`, because only it reports the
//! upload's progress; the browser sends the session cookie and `Sec-Fetch-Site: same-origin`,
//! which the CSRF check asks of cookie requests. While a document is queued or processing, the
//! list is read again every [`POLL_MS`] milliseconds.

use leptos::prelude::*;
use serde::Deserialize;

use crate::contract::ids::{DocumentId, KbId};
use crate::contract::kinds::DocumentStatus;
use crate::contract::knowledge::{Category, Document, UploadedDocument};
use crate::fns::knowledge::{DeleteDocument, ReindexKnowledge, list_documents};
use crate::ui::components::time::absolute;
use crate::ui::components::{ConfirmDelete, DataTable, EmptyState, ErrorAlert, Notice, error_of};

/// What the file picker offers: the formats the server reads text from.
const ACCEPT: &str = ".pdf,.md,.markdown,.txt,.html,.htm,.docx,.csv,.json";

/// How often the list is read again while a document is queued or processing (by the browser).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const POLL_MS: u64 = 1500;

/// Whether `doc` is still on its way to `ready` or `failed`.
fn in_progress(doc: &Document) -> bool {
    matches!(
        doc.status,
        DocumentStatus::Queued | DocumentStatus::Processing
    )
}

/// `812 B`, `14.2 KiB`, `3.0 MiB`.
fn size_label(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    let b = bytes as f64;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{:.1} KiB", b / KIB as f64)
    } else {
        format!("{:.1} MiB", b / MIB as f64)
    }
}

/// A short name for a media type: `PDF`, `Markdown`…; others as they are.
fn kind_label(media_type: &str) -> &str {
    let essence = media_type.split(';').next().unwrap_or(media_type).trim();
    match essence {
        "application/pdf" => "PDF",
        "text/markdown" | "text/x-markdown" => "Markdown",
        "text/plain" => "Text",
        "text/html" => "HTML",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "Word",
        "text/csv" => "CSV",
        "application/json" => "JSON",
        _ => essence,
    }
}

/// `1 passage`, `12 passages`.
fn passages(n: u32) -> String {
    if n == 1 {
        "1 passage".to_owned()
    } else {
        format!("{n} passages")
    }
}

/// What a screen reader hears when documents of `before` finished in `now`: `heron.pdf is
/// ready (3 passages).`, `notes.md failed: …`.
fn settled(before: &[Document], now: &[Document]) -> Vec<String> {
    now.iter()
        .filter(|d| !in_progress(d) && before.iter().any(|b| b.id == d.id && in_progress(b)))
        .map(|d| match d.status {
            DocumentStatus::Failed => format!(
                "{} failed: {}",
                d.filename,
                d.error.as_deref().unwrap_or("no reason given.")
            ),
            _ => format!("{} is ready ({}).", d.filename, passages(d.chunk_count)),
        })
        .collect()
}

/// What the knowledge bases' list counts of `docs`: documents, and chunks of ready ones.
fn counts(docs: &[Document]) -> (usize, u64) {
    let chunks = docs
        .iter()
        .filter(|d| d.status == DocumentStatus::Ready)
        .map(|d| u64::from(d.chunk_count))
        .sum();
    (docs.len(), chunks)
}

/// Where one upload stands. (Only the browser makes outcomes: the server renders no uploads.)
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Sent {
    /// Its bytes are on their way.
    Sending,
    /// The server holds it: a new document, or (`duplicate`) the one that already had its bytes.
    Stored { document: Document, duplicate: bool },
    /// The server refused it, or it could not be sent: the sentence to show.
    Failed(String),
}

/// The part of an error body the page shows.
#[derive(Deserialize)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Detail {
    detail: String,
}

/// An upload's outcome from the answer's status and body (`status` 0: no answer).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn outcome(status: u16, body: &str) -> Sent {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<Vec<UploadedDocument>>(body) {
            Ok(stored) => match stored.into_iter().next() {
                Some(UploadedDocument {
                    document,
                    duplicate,
                }) => Sent::Stored {
                    document,
                    duplicate,
                },
                None => Sent::Failed("The server stored nothing.".to_owned()),
            },
            Err(_) => Sent::Failed("The server's answer could not be read.".to_owned()),
        };
    }
    let detail = serde_json::from_str::<Detail>(body)
        .ok()
        .map(|d| d.detail)
        .filter(|d| !d.trim().is_empty());
    Sent::Failed(detail.unwrap_or_else(|| match status {
        0 => "Could not reach the server.".to_owned(),
        413 => "The file is larger than the server accepts.".to_owned(),
        s => format!("The server answered {s}."),
    }))
}

/// One file being (or having been) uploaded, as its row shows it.
#[derive(Clone)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Upload {
    /// Stable for `<For>`.
    key: u64,
    name: String,
    size: u64,
    /// Percent of its bytes sent.
    progress: ArcRwSignal<f64>,
    sent: ArcRwSignal<Sent>,
}

/// What the document list shows.
#[derive(Clone, PartialEq)]
enum Listing {
    Loading,
    Empty,
    Listed,
    Failed(String),
}

/// The signals uploads report to; `Copy`, for event handlers. (Only the browser uploads.)
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Uploader {
    kb: KbId,
    category: RwSignal<String>,
    uploads: RwSignal<Vec<Upload>>,
    /// Bumped when the document list should be read again.
    refresh: RwSignal<u32>,
    /// Bumped when the knowledge bases' list (which counts documents) should be.
    changes: RwSignal<u32>,
    announce: RwSignal<String>,
}

#[cfg(feature = "hydrate")]
impl Uploader {
    /// Uploads each of `files` on its own, in parallel, each with its row.
    fn send(self, files: Vec<web_sys::File>) {
        let category = uuid::Uuid::parse_str(&self.category.get_untracked())
            .ok()
            .map(crate::contract::ids::CategoryId);
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        for file in files {
            let size = file.size();
            let upload = Upload {
                key: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                name: file.name(),
                // A whole number of bytes.
                size: size.max(0.0) as u64,
                progress: ArcRwSignal::new(0.0),
                sent: ArcRwSignal::new(Sent::Sending),
            };
            self.uploads.try_update(|u| u.push(upload.clone()));
            leptos::task::spawn_local(async move {
                let progress = upload.progress.clone();
                let sent =
                    browser::post(self.kb, &file, category, move |pct| progress.set(pct)).await;
                let said = match &sent {
                    Sent::Sending => String::new(),
                    Sent::Stored {
                        duplicate: true, ..
                    } => format!("{} is already in this knowledge base.", upload.name),
                    Sent::Stored { .. } => format!("{} uploaded.", upload.name),
                    Sent::Failed(why) => format!("{} was not uploaded: {why}", upload.name),
                };
                let stored = matches!(sent, Sent::Stored { .. });
                upload.progress.set(100.0);
                upload.sent.set(sent);
                self.announce.try_set(said);
                self.refresh.try_update(|n| *n += 1);
                if stored {
                    self.changes.try_update(|n| *n += 1);
                }
            });
        }
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Promise, Reflect};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

    use super::{Sent, outcome};
    use crate::contract::ids::{CategoryId, KbId};

    fn js_error(e: JsValue) -> String {
        e.as_string()
            .or_else(|| {
                Reflect::get(&e, &JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "The upload could not start.".to_owned())
    }

    /// Sends `file` (filed under `category`, if any), calling `on_progress` with the percent of
    /// its bytes sent, and reads the answer.
    pub async fn post(
        kb: KbId,
        file: &File,
        category: Option<CategoryId>,
        on_progress: impl Fn(f64) + 'static,
    ) -> Sent {
        match send(kb, file, category, on_progress).await {
            Ok((status, body)) => outcome(status, &body),
            Err(why) => Sent::Failed(why),
        }
    }

    async fn send(
        kb: KbId,
        file: &File,
        category: Option<CategoryId>,
        on_progress: impl Fn(f64) + 'static,
    ) -> Result<(u16, String), String> {
        let form = FormData::new().map_err(js_error)?;
        form.append_with_blob_and_filename("file", file, &file.name())
            .map_err(js_error)?;
        if let Some(category) = category {
            form.append_with_str("category_id", &category.to_string())
                .map_err(js_error)?;
        }
        let xhr = XmlHttpRequest::new().map_err(js_error)?;
        xhr.open_with_async("POST", &format!("/api/knowledge/{kb}/documents"), true)
            .map_err(js_error)?;
        xhr.set_request_header("Accept", "application/json")
            .map_err(js_error)?;
        let upload = xhr.upload().map_err(js_error)?;
        let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                on_progress((e.loaded() / e.total() * 100.0).clamp(0.0, 100.0));
            }
        });
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        // `loadend` follows `load`, `error`, `abort` and `timeout` alike.
        let finished = Promise::new(&mut |resolve, _reject| xhr.set_onloadend(Some(&resolve)));
        let done = match xhr.send_with_opt_form_data(Some(&form)) {
            Ok(()) => JsFuture::from(finished).await.map(drop).map_err(js_error),
            Err(e) => Err(js_error(e)),
        };
        upload.set_onprogress(None);
        xhr.set_onloadend(None);
        drop(progress);
        done?;
        let status = xhr.status().unwrap_or(0);
        let body = xhr.response_text().ok().flatten().unwrap_or_default();
        Ok((status, body))
    }
}

/// The document list and, for who may change the knowledge base, the upload zone, each
/// document's deletion and "Reindex".
#[component]
pub fn DocumentsPanel(
    kb: KbId,
    can_edit: bool,
    #[prop(into)] categories: Signal<Vec<Category>>,
    changes: RwSignal<u32>,
) -> impl IntoView {
    let remove = ServerAction::<DeleteDocument>::new();
    let reindex = ServerAction::<ReindexKnowledge>::new();
    // `None` until the first answer; a failed re-read keeps the last list (and says why).
    let docs = RwSignal::new(None::<Vec<Document>>);
    let load_error = RwSignal::new(None::<String>);
    let refresh = RwSignal::new(0u32);
    let announce = RwSignal::new(String::new());
    // Answers to reads started before the latest are dropped.
    let reads = StoredValue::new(0u64);
    Effect::new(move |_| {
        refresh.track();
        let n = reads
            .try_update_value(|r| {
                *r += 1;
                *r
            })
            .unwrap_or(0);
        leptos::task::spawn_local(async move {
            let answer = list_documents(kb).await;
            if reads.try_get_value() != Some(n) {
                return;
            }
            match answer {
                Ok(list) => {
                    let (said, recount) = docs
                        .try_with_untracked(|d| {
                            d.as_deref().map(|before| {
                                (settled(before, &list), counts(before) != counts(&list))
                            })
                        })
                        .flatten()
                        .unwrap_or_default();
                    if !said.is_empty() {
                        announce.try_set(said.join(" "));
                    }
                    // The knowledge bases' list shows these counts: it is read again.
                    if recount {
                        changes.try_update(|n| *n += 1);
                    }
                    docs.try_set(Some(list));
                    load_error.try_set(None);
                }
                Err(e) => {
                    load_error.try_set(Some(e.detail));
                    // Polling goes on (it follows each answer) while a document was in progress.
                    docs.try_update(|_| ());
                }
            }
        });
    });
    let busy =
        Memo::new(move |_| docs.with(|d| d.as_ref().is_some_and(|l| l.iter().any(in_progress))));
    poll(docs, busy, refresh);
    let heading = NodeRef::<leptos::html::H3>::new();
    Effect::new(move |_| {
        if matches!(remove.value().get(), Some(Ok(()))) {
            refresh.try_update(|n| *n += 1);
            changes.try_update(|n| *n += 1);
            // The row that held the focus is gone: the section's heading takes it.
            #[cfg(feature = "hydrate")]
            if let Some(el) = heading.get_untracked() {
                let _ = el.focus();
            }
        }
    });
    Effect::new(move |_| {
        if matches!(reindex.value().get(), Some(Ok(_))) {
            refresh.try_update(|n| *n += 1);
        }
    });
    let listing = Memo::new(move |_| {
        docs.with(|d| match d {
            None => match load_error.get() {
                Some(e) => Listing::Failed(e),
                None => Listing::Loading,
            },
            Some(l) if l.is_empty() => Listing::Empty,
            Some(_) => Listing::Listed,
        })
    });
    let uploader = Uploader {
        kb,
        category: RwSignal::new(String::new()),
        uploads: RwSignal::new(Vec::new()),
        refresh,
        changes,
        announce,
    };
    let errors = move || error_of(remove)().or_else(error_of(reindex));
    view! {
        <section class="documents" aria-label="Documents">
            <h3 tabindex="-1" node_ref=heading>"Documents"</h3>
            <p class="sr-only" aria-live="polite">{move || announce.get()}</p>
            <Show when=move || can_edit>
                <UploadZone uploader categories docs/>
            </Show>
            {move || match listing.get() {
                Listing::Loading => view! { <p>"Loading documents…"</p> }.into_any(),
                Listing::Failed(e) => view! { <p class="error">{e}</p> }.into_any(),
                Listing::Empty => view! { <EmptyState>"No documents yet."</EmptyState> }.into_any(),
                Listing::Listed => view! {
                    <DataTable class="ops documents"
                        headers=&["File", "Type", "Size", "Status", "Uploaded", ""]>
                        <For each=move || docs.get().unwrap_or_default() key=|d| d.id let:doc>
                            <DocumentRow doc docs can_edit remove/>
                        </For>
                    </DataTable>
                }.into_any(),
            }}
            {move || docs.with(|d| d.is_some()).then(|| load_error.get()).flatten().map(|e| view! {
                <p class="error">{format!("The list could not be read again: {e}")}</p>
            })}
            <ErrorAlert message=errors/>
            <Show when=move || can_edit>
                <div class="form-actions">
                    <button class="button secondary" type="button"
                        disabled=move || reindex.pending().get()
                        on:click=move |_| { reindex.dispatch(ReindexKnowledge { id: kb }); }>
                        {move || if reindex.pending().get() { "Starting…" } else { "Reindex" }}
                    </button>
                </div>
                {move || reindex.value().get().and_then(Result::ok).map(|r| view! {
                    <Notice>{format!(
                        "Reindexing started (job {}, index generation {}). Searches use the current index until it is done.",
                        r.job_id, r.generation
                    )}</Notice>
                })}
            </Show>
        </section>
    }
}

/// While `busy`, bumps `refresh` [`POLL_MS`] after each answer; never on the server, and no
/// more once the panel is gone.
fn poll(docs: RwSignal<Option<Vec<Document>>>, busy: Memo<bool>, refresh: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    {
        let timer = StoredValue::new(None::<TimeoutHandle>);
        let stop = move || {
            if let Some(t) = timer.try_update_value(Option::take).flatten() {
                t.clear();
            }
        };
        Effect::new(move |_| {
            // Each answer (a new list, even an equal one) schedules the next read.
            docs.track();
            stop();
            if busy.get() {
                let next = set_timeout_with_handle(
                    move || {
                        refresh.try_update(|n| *n += 1);
                    },
                    std::time::Duration::from_millis(POLL_MS),
                );
                if let Ok(t) = next {
                    timer.try_set_value(Some(t));
                }
            }
        });
        on_cleanup(stop);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (docs, busy, refresh);
}

/// The file picker inside a zone files may be dropped on, the category new documents are filed
/// under, and a row per upload with its progress, then its document's status.
#[component]
fn UploadZone(
    uploader: Uploader,
    categories: Signal<Vec<Category>>,
    docs: RwSignal<Option<Vec<Document>>>,
) -> impl IntoView {
    let over = RwSignal::new(false);
    let Uploader {
        category, uploads, ..
    } = uploader;
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                let files = input.files().map(|l| files_of(&l)).unwrap_or_default();
                // Empty again, so that choosing the same file once more uploads it again.
                input.set_value("");
                uploader.send(files);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        over.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            uploader.send(files_of(&list));
        }
    };
    let on_over = move |ev: leptos::ev::DragEvent| {
        // Without this the browser opens a dropped file instead.
        ev.prevent_default();
        over.set(true);
    };
    let clear = move |_| {
        uploads.update(|u| u.retain(|up| matches!(up.sent.get_untracked(), Sent::Sending)));
    };
    view! {
        <div class="dropzone" class:over=move || over.get()
            on:dragenter=on_over on:dragover=on_over
            on:dragleave=move |_| over.set(false) on:drop=on_drop>
            <p class="muted">"Drop files here, or choose them."</p>
            <div class="form-row">
                <label>"Upload files"
                    <input type="file" name="file" multiple accept=ACCEPT on:change=on_change/>
                    <small class="muted">"PDF, Markdown, text, HTML, Word (.docx), CSV or JSON; up to 20 MiB each."</small>
                </label>
                <label>"Category for new documents"
                    <select name="category_id" on:change=move |ev| category.set(event_target_value(&ev))>
                        <option value="" selected=move || category.get().is_empty()>"No category"</option>
                        {move || categories.get().into_iter().map(|c| {
                            let value = c.id.to_string();
                            let v = value.clone();
                            view! { <option value=value selected=move || category.get() == v>{c.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </div>
        </div>
        <Show when=move || uploads.with(|u| !u.is_empty())>
            <ul class="uploads" aria-label="Uploads">
                <For each=move || uploads.get() key=|u| u.key let:upload>
                    <UploadRow upload docs/>
                </For>
            </ul>
            <button class="button secondary small" type="button" on:click=clear>"Clear finished uploads"</button>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
fn files_of(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// One upload: its progress while sending; then its document's status (kept current by the
/// list's reads), "Already in this knowledge base" for bytes it held, or the server's refusal.
#[component]
fn UploadRow(upload: Upload, docs: RwSignal<Option<Vec<Document>>>) -> impl IntoView {
    let Upload {
        name,
        size,
        progress,
        sent,
        ..
    } = upload;
    let label = format!("Uploading {name}");
    let state = move || match sent.get() {
        Sent::Sending => {
            let progress = progress.clone();
            let shown = progress.clone();
            view! {
                <progress max="100" value=move || progress.get() aria-label=label.clone()></progress>
                <span class="muted">{move || format!("{:.0}%", shown.get())}</span>
            }
            .into_any()
        }
        Sent::Stored {
            document,
            duplicate,
        } => {
            let id = document.id;
            let current = move || {
                docs.with(|d| {
                    d.as_ref()
                        .and_then(|l| l.iter().find(|x| x.id == id).cloned())
                })
                .unwrap_or_else(|| document.clone())
            };
            let existing = duplicate.then(|| {
                let c = current();
                view! {
                    <span class="duplicate">"Already in this knowledge base as “"{c.filename}"”."</span>
                }
            });
            view! { {existing} {move || view! { <StatusBadge doc=current()/> }} }.into_any()
        }
        Sent::Failed(why) => view! { <span class="error" role="alert">{why}</span> }.into_any(),
    };
    view! {
        <li data-upload=name.clone()>
            <span class="upload-name">{name.clone()}</span>
            " "
            <small class="muted">{size_label(size)}</small>
            " "
            <span class="upload-state">{state}</span>
        </li>
    }
}

/// A document's status: queued; processing with a progress bar; ready with its passages;
/// failed with its reason.
#[component]
fn StatusBadge(doc: Document) -> impl IntoView {
    let status = doc.status.as_str();
    let class = format!("state state-{status}");
    let detail = match doc.status {
        DocumentStatus::Queued => None,
        DocumentStatus::Processing => {
            let label = format!("Processing {}", doc.filename);
            Some(view! {
                <progress max="100" value=doc.progress.min(100).to_string() aria-label=label></progress>
                <small class="muted">{format!("{}%", doc.progress.min(100))}</small>
            }.into_any())
        }
        DocumentStatus::Ready => {
            Some(view! { <small class="muted">{passages(doc.chunk_count)}</small> }.into_any())
        }
        DocumentStatus::Failed => Some(
            view! {
                <small class="error">{doc.error.unwrap_or_else(|| "No reason given.".to_owned())}</small>
            }
            .into_any(),
        ),
    };
    view! { <span class="status"><span class=class>{status}</span> {detail}</span> }
}

/// One document; its status follows the list's reads, "Delete" asks first.
#[component]
fn DocumentRow(
    doc: Document,
    docs: RwSignal<Option<Vec<Document>>>,
    can_edit: bool,
    remove: ServerAction<DeleteDocument>,
) -> impl IntoView {
    let kb = doc.kb_id;
    let id: DocumentId = doc.id;
    let confirming = RwSignal::new(false);
    let initial = doc.clone();
    let current = Memo::new(move |_| {
        docs.with(|d| {
            d.as_ref()
                .and_then(|l| l.iter().find(|x| x.id == id).cloned())
        })
        .unwrap_or_else(|| initial.clone())
    });
    let name = doc.filename.clone();
    let delete_label = format!("Delete {name}");
    view! {
        <tr data-document=doc.filename.clone()>
            <td><strong>{doc.filename.clone()}</strong></td>
            <td title=doc.media_type.clone()>{kind_label(&doc.media_type).to_owned()}</td>
            <td>{size_label(doc.size_bytes)}</td>
            <td>{move || view! { <StatusBadge doc=current.get()/> }}</td>
            <td>{absolute(doc.created_at)}</td>
            <td class="actions">
                <Show when=move || can_edit>
                    <button class="button danger" type="button" aria-label=delete_label.clone()
                        aria-expanded=move || confirming.get().to_string()
                        on:click=move |_| confirming.set(true)>"Delete"</button>
                </Show>
            </td>
        </tr>
        <Show when=move || confirming.get()>
            <tr class="detail-row"><td colspan="6">
                <ConfirmDelete open=confirming
                    question=format!("Delete “{name}”? Its passages leave the search at once.")
                    on_confirm=move || { remove.dispatch(DeleteDocument { id: kb, document_id: id }); }/>
            </td></tr>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::contract::ids::UserId;

    fn doc(name: &str, status: DocumentStatus) -> Document {
        Document {
            id: DocumentId(uuid::Uuid::from_u128(name.len() as u128)),
            kb_id: KbId(uuid::Uuid::nil()),
            category_id: None,
            filename: name.to_owned(),
            media_type: "application/pdf".to_owned(),
            size_bytes: 10,
            content_hash: String::new(),
            status,
            progress: 0,
            error: None,
            chunk_count: 3,
            created_by: UserId(uuid::Uuid::nil()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_label(0), "0 B");
        assert_eq!(size_label(1023), "1023 B");
        assert_eq!(size_label(1536), "1.5 KiB");
        assert_eq!(size_label(20 * 1024 * 1024), "20.0 MiB");
        assert!(size_label(u64::MAX).ends_with("MiB"));
    }

    #[test]
    fn media_types_have_short_names() {
        assert_eq!(kind_label("application/pdf"), "PDF");
        assert_eq!(kind_label("text/markdown; charset=utf-8"), "Markdown");
        assert_eq!(kind_label("application/x-unknown"), "application/x-unknown");
        assert_eq!(kind_label(""), "");
    }

    #[test]
    fn answers_become_outcomes() {
        let stored = serde_json::json!([{
            "document": doc("a.pdf", DocumentStatus::Queued),
            "duplicate": true,
        }])
        .to_string();
        assert!(matches!(
            outcome(201, &stored),
            Sent::Stored {
                duplicate: true,
                ..
            }
        ));
        assert_eq!(
            outcome(
                400,
                r#"{"detail":"pixel.png is not a supported file.","error":{}}"#
            ),
            Sent::Failed("pixel.png is not a supported file.".to_owned())
        );
        assert_eq!(
            outcome(413, "<html>"),
            Sent::Failed("The file is larger than the server accepts.".to_owned())
        );
        assert_eq!(
            outcome(0, ""),
            Sent::Failed("Could not reach the server.".to_owned())
        );
        assert!(matches!(outcome(201, "[]"), Sent::Failed(_)));
        assert!(matches!(outcome(201, "{"), Sent::Failed(_)));
        assert!(matches!(outcome(502, r#"{"detail":"  "}"#), Sent::Failed(s) if s.contains("502")));
    }

    #[test]
    fn only_finished_documents_are_announced() {
        let before = vec![
            doc("a.pdf", DocumentStatus::Processing),
            doc("bb.md", DocumentStatus::Queued),
            doc("ccc.txt", DocumentStatus::Ready),
        ];
        let mut failed = doc("bb.md", DocumentStatus::Failed);
        failed.error = Some("It is empty.".to_owned());
        let now = vec![
            doc("a.pdf", DocumentStatus::Ready),
            failed,
            doc("ccc.txt", DocumentStatus::Ready),
            doc("dddd.csv", DocumentStatus::Ready),
        ];
        assert_eq!(
            settled(&before, &now),
            vec![
                "a.pdf is ready (3 passages).".to_owned(),
                "bb.md failed: It is empty.".to_owned()
            ]
        );
        assert!(settled(&now, &now).is_empty());
    }
}
