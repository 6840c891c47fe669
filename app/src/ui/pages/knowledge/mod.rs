//! Knowledge bases: the list of those the user sees (slug, visibility, counts), the form that
//! creates one or changes its settings (name, slug, description, visibility, chunking, embedding
//! model), deleting one, its categories (add, rename, delete), its documents ([`documents`]:
//! upload, ingestion status, delete, reindex) and searching it ([`search`]). Who may change what
//! is the service's rule (`backend/src/services/knowledge/mod.rs`); the page only hides the
//! controls a user could not use.

mod documents;
mod search;

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::agents::{AudienceChoice, same_members};
use super::{SignedIn, error_of, is_admin};
use crate::contract::agents::Visibility;
use crate::contract::ids::{GroupId, KbId, ProviderId, UserId};
use crate::contract::knowledge::{
    Category, Chunking, ChunkingInput, EmbeddingInput, KnowledgeBase, LOCAL_EMBEDDING_MODEL,
    NewCategory, NewKnowledgeBase, UpdateCategory, UpdateKnowledgeBase,
};
use crate::contract::orgs::Group;
use crate::contract::providers::Provider;
use crate::fns::admin::list_groups;
use crate::fns::auth::SessionUser;
use crate::fns::knowledge::{
    CreateCategory, CreateKnowledgeBase, DeleteCategory, DeleteKnowledgeBase, EditCategory,
    EditKnowledgeBase, get_knowledge_base, list_categories, list_knowledge_bases,
};
use crate::fns::providers::list_providers;
use crate::ui::components::{
    ConfirmDelete, DataTable, EmptyState, ErrorAlert, Field, LoadError, Loaded, Notice, PageCard,
    SaveOutcome, SubmitButton,
};
use documents::DocumentsPanel;
use search::SearchPanel;

/// The `/knowledge` route: the page's code is its own wasm file, fetched with the page (`ui::App`).
pub struct KnowledgeRoute;

#[lazy_route]
impl LazyRoute for KnowledgeRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <KnowledgePage/> }.into_any()
    }
}

#[component]
pub fn KnowledgePage() -> impl IntoView {
    view! {
        <SignedIn title="Knowledge bases" let:user>
            <KnowledgeManager user/>
        </SignedIn>
    }
}

/// What the editor shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Editor {
    New,
    Edit(KbId),
}

#[component]
fn KnowledgeManager(user: SessionUser) -> impl IntoView {
    let create = ServerAction::<CreateKnowledgeBase>::new();
    let delete = ServerAction::<DeleteKnowledgeBase>::new();
    // Bumped after a change made in the editor (settings, categories), so the list re-reads.
    let changes = RwSignal::new(0u32);
    let bases = Resource::new(
        move || {
            (
                create.version().get(),
                delete.version().get(),
                changes.get(),
            )
        },
        |_| list_knowledge_bases(),
    );
    let editor = RwSignal::new(None::<Editor>);
    // A new knowledge base stays open in the editor, for its categories.
    Effect::new(move |_| {
        if let Some(Ok(kb)) = create.value().get() {
            editor.set(Some(Editor::Edit(kb.id)));
        }
    });
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            editor.set(None);
        }
    });
    let me = user.id;
    let admin = is_admin(&user);
    view! {
        <PageCard title="Knowledge bases" actions=Box::new(move || view! {
            <button class="button" type="button" on:click=move |_| editor.set(Some(Editor::New))>"New knowledge base"</button>
        }.into_any())>
            <p>
                "A knowledge base holds documents, cut into chunks and embedded, that agents search "
                "to answer. Its slug is its name as an Egret domain; its categories narrow a search."
            </p>
        </PageCard>
        {move || editor.get().map(|ed| view! {
            <EditorPanel editor=ed me admin create delete changes on_close=move || editor.set(None)/>
        })}
        <section class="card">
            <Loaded resource=bases loading="Loading knowledge bases…" let:list>
                {if list.is_empty() {
                    view! { <EmptyState>"No knowledge bases yet."</EmptyState> }.into_any()
                } else {
                    view! {
                        <DataTable class="ops knowledge"
                            headers=&["Name", "Slug", "Visibility", "Documents", "Chunks", "Categories", ""]>
                            {list.into_iter().map(|kb| view! { <KbRow kb editor/> }).collect_view()}
                        </DataTable>
                    }.into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn KbRow(kb: KnowledgeBase, editor: RwSignal<Option<Editor>>) -> impl IntoView {
    let id = kb.id;
    let open = format!("Open {}", kb.name);
    view! {
        <tr data-kb=kb.name.clone()>
            <td><strong>{kb.name.clone()}</strong><br/><small class="muted">{kb.description.clone()}</small></td>
            <td><code>{kb.slug.clone()}</code></td>
            <td>{kb.visibility.as_str()}</td>
            <td>{kb.document_count.to_string()}</td>
            <td>{kb.chunk_count.to_string()}</td>
            <td>{kb.categories.len().to_string()}</td>
            <td class="actions">
                <button class="button secondary" type="button" aria-label=open
                    on:click=move |_| editor.set(Some(Editor::Edit(id)))>"Open"</button>
            </td>
        </tr>
    }
}

/// Loads what the editor offers (providers, groups) and the knowledge base it edits, then shows
/// them. Its heading takes the focus when it opens, so a keyboard user lands in it.
#[component]
fn EditorPanel(
    editor: Editor,
    me: UserId,
    admin: bool,
    create: ServerAction<CreateKnowledgeBase>,
    delete: ServerAction<DeleteKnowledgeBase>,
    changes: RwSignal<u32>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let target = match editor {
        Editor::New => None,
        Editor::Edit(id) => Some(id),
    };
    let providers = Resource::new(|| (), |_| list_providers());
    let groups = Resource::new(|| (), |_| list_groups());
    let kb = Resource::new(
        move || target,
        |target| async move {
            match target {
                Some(id) => get_knowledge_base(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        let el = heading.get();
        #[cfg(feature = "hydrate")]
        if let Some(el) = el {
            let _ = el.focus();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = el;
    });
    view! {
        <section class="card" aria-label="Knowledge base editor">
            <h2 tabindex="-1" node_ref=heading>
                {if target.is_some() { "Edit knowledge base" } else { "New knowledge base" }}
            </h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let providers = providers.get()?;
                    let kb = kb.get()?;
                    let groups = groups.get()?.unwrap_or_default();
                    Some(match (providers, kb) {
                        (Ok(providers), Ok(kb)) => {
                            let can_edit = kb.as_ref().is_none_or(|k| admin || k.owner_id == me);
                            view! {
                                <KbEditor kb providers groups can_edit create delete changes on_close/>
                            }.into_any()
                        }
                        (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                    })
                }}
            </Transition>
        </section>
    }
}

/// The settings form; for an existing knowledge base also its deletion, its categories, its
/// documents and its search.
#[component]
fn KbEditor(
    kb: Option<KnowledgeBase>,
    providers: Vec<Provider>,
    groups: Vec<Group>,
    can_edit: bool,
    create: ServerAction<CreateKnowledgeBase>,
    delete: ServerAction<DeleteKnowledgeBase>,
    changes: RwSignal<u32>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let existing = kb
        .as_ref()
        .map(|k| (k.id, k.name.clone(), k.categories.clone()));
    view! {
        <KbForm kb providers groups can_edit create changes on_close/>
        {existing.map(|(id, name, categories)| {
            let categories = current_categories(id, categories, changes);
            view! {
                <DeleteKb id name can_edit delete/>
                <CategoriesPanel kb=id can_edit changes/>
                <DocumentsPanel kb=id can_edit categories changes/>
                <SearchPanel kb=id categories/>
            }
        })}
    }
}

/// The categories the upload and search forms offer: those the knowledge base had when the
/// editor opened, read again after each change made in the editor.
fn current_categories(
    kb: KbId,
    initial: Vec<Category>,
    changes: RwSignal<u32>,
) -> Signal<Vec<Category>> {
    let categories = RwSignal::new(initial);
    Effect::new(move |first: Option<()>| {
        changes.track();
        if first.is_some() {
            leptos::task::spawn_local(async move {
                if let Ok(list) = list_categories(kb).await {
                    categories.try_set(list);
                }
            });
        }
    });
    categories.into()
}

/// The form's values as typed; numbers stay text until submitted.
#[derive(Clone, Copy)]
struct Draft {
    name: RwSignal<String>,
    slug: RwSignal<String>,
    description: RwSignal<String>,
    visibility: RwSignal<String>,
    groups: RwSignal<Vec<GroupId>>,
    chunk_size: RwSignal<String>,
    chunk_overlap: RwSignal<String>,
    /// A provider's id; empty: the built-in model.
    provider: RwSignal<String>,
    /// The provider's model (unused with the built-in model).
    model: RwSignal<String>,
}

/// `s` as a whole number, or the sentence saying it is not one.
fn whole(field: &str, s: &str) -> Result<u32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{field} must be a whole number."))
}

impl Draft {
    /// A new knowledge base's defaults: private, default chunking, the built-in model.
    fn new(kb: Option<&KnowledgeBase>) -> Self {
        let chunking = Chunking::default();
        let draft = Self {
            name: RwSignal::new(String::new()),
            slug: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            visibility: RwSignal::new(Visibility::Private.as_str().to_owned()),
            groups: RwSignal::new(Vec::new()),
            chunk_size: RwSignal::new(chunking.chunk_size.to_string()),
            chunk_overlap: RwSignal::new(chunking.chunk_overlap.to_string()),
            provider: RwSignal::new(String::new()),
            model: RwSignal::new(String::new()),
        };
        if let Some(kb) = kb {
            draft.load(kb);
        }
        draft
    }

    /// Shows what the server holds.
    fn load(&self, kb: &KnowledgeBase) {
        self.name.set(kb.name.clone());
        self.slug.set(kb.slug.clone());
        self.description.set(kb.description.clone());
        self.visibility.set(kb.visibility.as_str().to_owned());
        self.groups.set(kb.group_ids.clone());
        self.chunk_size.set(kb.chunking.chunk_size.to_string());
        self.chunk_overlap
            .set(kb.chunking.chunk_overlap.to_string());
        self.provider.set(
            kb.embedding
                .provider_id
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
        self.model.set(if kb.embedding.provider_id.is_some() {
            kb.embedding.model.clone()
        } else {
            String::new()
        });
    }

    fn chunking(&self) -> Result<(u32, u32), String> {
        Ok((
            whole("Chunk size", &self.chunk_size.get_untracked())?,
            whole("Chunk overlap", &self.chunk_overlap.get_untracked())?,
        ))
    }

    fn provider_id(&self) -> Option<ProviderId> {
        uuid::Uuid::parse_str(&self.provider.get_untracked())
            .ok()
            .map(ProviderId)
    }

    /// The provider's model; `None` when empty (the server then says it is required).
    fn model(&self) -> Option<String> {
        Some(self.model.get_untracked().trim().to_owned()).filter(|m| !m.is_empty())
    }

    /// The visibility, and the groups when it is for groups.
    fn audience(&self) -> (Visibility, Vec<GroupId>) {
        let visibility =
            Visibility::parse(&self.visibility.get_untracked()).unwrap_or(Visibility::Private);
        let groups = if visibility == Visibility::Groups {
            self.groups.get_untracked()
        } else {
            Vec::new()
        };
        (visibility, groups)
    }

    fn new_kb(&self) -> Result<NewKnowledgeBase, String> {
        let (chunk_size, chunk_overlap) = self.chunking()?;
        let slug = self.slug.get_untracked().trim().to_owned();
        let (visibility, group_ids) = self.audience();
        let embedding = match self.provider_id() {
            None => EmbeddingInput::default(),
            Some(p) => EmbeddingInput {
                provider_id: Some(Some(p)),
                model: self.model(),
            },
        };
        Ok(NewKnowledgeBase {
            name: self.name.get_untracked(),
            slug: Some(slug).filter(|s| !s.is_empty()),
            description: self.description.get_untracked(),
            visibility,
            group_ids,
            chunking: ChunkingInput {
                chunk_size: Some(chunk_size),
                chunk_overlap: Some(chunk_overlap),
            },
            embedding,
        })
    }

    /// What differs from `kb`, the rest absent (an empty slug keeps the current one).
    fn changes(&self, kb: &KnowledgeBase) -> Result<UpdateKnowledgeBase, String> {
        let (size, overlap) = self.chunking()?;
        let name = self.name.get_untracked();
        let slug = self.slug.get_untracked().trim().to_owned();
        let description = self.description.get_untracked();
        let (visibility, group_ids) = self.audience();
        let chunking = ChunkingInput {
            chunk_size: (size != kb.chunking.chunk_size).then_some(size),
            chunk_overlap: (overlap != kb.chunking.chunk_overlap).then_some(overlap),
        };
        let provider = self.provider_id();
        let model = self.model();
        let embedding = if provider != kb.embedding.provider_id {
            Some(EmbeddingInput {
                provider_id: Some(provider),
                model: provider.and(model),
            })
        } else if provider.is_some() && model.as_deref() != Some(kb.embedding.model.as_str()) {
            Some(EmbeddingInput {
                provider_id: None,
                model,
            })
        } else {
            None
        };
        Ok(UpdateKnowledgeBase {
            name: (name != kb.name).then_some(name),
            slug: (!slug.is_empty() && slug != kb.slug).then_some(slug),
            description: (description != kb.description).then_some(description),
            visibility: (visibility != kb.visibility).then_some(visibility),
            group_ids: (!same_members(&group_ids, &kb.group_ids)).then_some(group_ids),
            chunking: (chunking != ChunkingInput::default()).then_some(chunking),
            embedding,
        })
    }
}

/// Creates a knowledge base, or saves what changed in one (a `PATCH` of the changed fields
/// only). A user who may not change it sees the settings disabled.
#[component]
fn KbForm(
    kb: Option<KnowledgeBase>,
    providers: Vec<Provider>,
    groups: Vec<Group>,
    can_edit: bool,
    create: ServerAction<CreateKnowledgeBase>,
    changes: RwSignal<u32>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let edit = ServerAction::<EditKnowledgeBase>::new();
    let id = kb.as_ref().map(|k| k.id);
    let draft = Draft::new(kb.as_ref());
    // What the server holds: a save sends only what differs from it.
    let saved = StoredValue::new(kb);
    let form_error = RwSignal::new(None::<String>);
    let unchanged = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(kb)) = edit.value().get() {
            draft.load(&kb);
            saved.set_value(Some(kb));
            changes.update(|n| *n += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        unchanged.set(false);
        let dispatched = match id {
            None => draft.new_kb().map(|input| {
                create.dispatch(CreateKnowledgeBase { input });
            }),
            Some(id) => saved
                .with_value(|kb| kb.as_ref().map(|kb| draft.changes(kb)))
                .unwrap_or_else(|| Ok(UpdateKnowledgeBase::default()))
                .map(|input| {
                    if input == UpdateKnowledgeBase::default() {
                        unchanged.set(true);
                    } else {
                        edit.dispatch(EditKnowledgeBase { id, input });
                    }
                }),
        };
        form_error.set(dispatched.err());
    };
    let pending = Signal::derive(move || create.pending().get() || edit.pending().get());
    let Draft {
        name,
        slug,
        description,
        chunk_size,
        chunk_overlap,
        ..
    } = draft;
    let submit_label = if id.is_some() {
        "Save changes"
    } else {
        "Create knowledge base"
    };
    let slug_hint = if id.is_some() {
        "Its Egret domain name. Renaming it breaks clients and allowed domains that use the old one."
    } else {
        "Its Egret domain name. Empty: made from the name."
    };
    view! {
        <form class="kb-form" on:submit=submit>
            <fieldset disabled={!can_edit}>
                <legend>"Settings"</legend>
                <div class="form-row">
                    <Field label="Name"><input name="name" required maxlength="100" bind:value=name/></Field>
                    <Field label="Slug" hint=slug_hint>
                        <input name="slug" maxlength="100" autocomplete="off" bind:value=slug/>
                    </Field>
                </div>
                <Field label="Description">
                    <textarea name="description" rows="2" maxlength="2000" bind:value=description></textarea>
                </Field>
                <AudienceChoice groups visibility=draft.visibility chosen=draft.groups/>
                <div class="form-row">
                    <Field label="Chunk size" hint="Characters per chunk.">
                        <input name="chunk_size" type="number" min="1" step="1" required bind:value=chunk_size/>
                    </Field>
                    <Field label="Chunk overlap" hint="Characters a chunk repeats from the one before it.">
                        <input name="chunk_overlap" type="number" min="0" step="1" required bind:value=chunk_overlap/>
                    </Field>
                </div>
                <EmbeddingChoice providers draft/>
            </fieldset>
            <ErrorAlert message=form_error/>
            {move || unchanged.get().then(|| view! { <Notice>"Nothing to save."</Notice> })}
            {if id.is_some() {
                view! { <SaveOutcome action=edit saved="Saved."/> }.into_any()
            } else {
                view! { <ErrorAlert message=error_of(create)/> }.into_any()
            }}
            {(!can_edit).then(|| view! {
                <p class="muted">"Only its owner or an organisation admin can change it."</p>
            })}
            <div class="form-actions">
                <Show when=move || can_edit>
                    <SubmitButton label=submit_label busy="Saving…" pending/>
                </Show>
                <button class="button secondary" type="button" on:click=move |_| on_close()>
                    {if id.is_some() { "Close" } else { "Cancel" }}
                </button>
            </div>
        </form>
    }
}

/// The built-in model, or a provider of the organisation and the model name it embeds with.
#[component]
fn EmbeddingChoice(providers: Vec<Provider>, draft: Draft) -> impl IntoView {
    let Draft {
        provider, model, ..
    } = draft;
    // A provider no longer listed stays selectable, so saving keeps it.
    let current = provider.get_untracked();
    let unlisted = (!current.is_empty() && !providers.iter().any(|p| p.id.to_string() == current))
        .then(|| {
            view! { <option value=current.clone() selected=true>"(a provider not listed)"</option> }
        });
    view! {
        <div class="form-row">
            <Field label="Embedding provider">
                <select name="embedding_provider" on:change=move |ev| provider.set(event_target_value(&ev))>
                    <option value="" selected=move || provider.get().is_empty()>
                        {format!("Built-in: {LOCAL_EMBEDDING_MODEL}")}
                    </option>
                    {providers.into_iter().map(|p| {
                        let value = p.id.to_string();
                        let v = value.clone();
                        view! { <option value=value selected=move || provider.get() == v>{p.name}</option> }
                    }).collect_view()}
                    {unlisted}
                </select>
            </Field>
            <Show when=move || !provider.get().is_empty()>
                <Field label="Embedding model" hint="The provider's embedding model, e.g. text-embedding-3-small.">
                    <input name="embedding_model" required maxlength="200" autocomplete="off" bind:value=model/>
                </Field>
            </Show>
        </div>
    }
}

/// "Delete knowledge base", after a confirmation.
#[component]
fn DeleteKb(
    id: KbId,
    name: String,
    can_edit: bool,
    delete: ServerAction<DeleteKnowledgeBase>,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    can_edit.then(|| {
        view! {
            <div class="form-actions">
                <button class="button danger" type="button"
                    aria-expanded=move || confirming.get().to_string()
                    on:click=move |_| confirming.set(true)>"Delete knowledge base"</button>
            </div>
            <ConfirmDelete open=confirming
                question=format!(
                    "Delete “{name}”? Its categories and documents are removed, and agents stop using it."
                )
                on_confirm=move || { delete.dispatch(DeleteKnowledgeBase { id }); }/>
            <ErrorAlert message=error_of(delete)/>
        }
    })
}

/// The categories in display order; who may change the knowledge base adds, renames and
/// deletes them.
#[component]
fn CategoriesPanel(kb: KbId, can_edit: bool, changes: RwSignal<u32>) -> impl IntoView {
    let add = ServerAction::<CreateCategory>::new();
    let rename = ServerAction::<EditCategory>::new();
    let remove = ServerAction::<DeleteCategory>::new();
    let categories = Resource::new(
        move || {
            (
                add.version().get(),
                rename.version().get(),
                remove.version().get(),
            )
        },
        move |_| list_categories(kb),
    );
    let name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    // The form empties after an addition; the list (which counts categories) re-reads.
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            name.set(String::new());
            slug.set(String::new());
            description.set(String::new());
            changes.update(|n| *n += 1);
        }
    });
    // A deletion changes the list's counts, a renaming the names the other forms offer.
    Effect::new(move |_| {
        let removed = matches!(remove.value().get(), Some(Ok(())));
        let renamed = matches!(rename.value().get(), Some(Ok(_)));
        if removed || renamed {
            changes.update(|n| *n += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let slug = slug.get_untracked().trim().to_owned();
        add.dispatch(CreateCategory {
            id: kb,
            input: NewCategory {
                name: name.get_untracked(),
                slug: Some(slug).filter(|s| !s.is_empty()),
                description: description.get_untracked(),
                position: None,
            },
        });
    };
    let errors = move || {
        error_of(add)()
            .or_else(error_of(rename))
            .or_else(error_of(remove))
    };
    view! {
        <section class="categories" aria-label="Categories">
            <h3>"Categories"</h3>
            <Loaded resource=categories loading="Loading categories…" let:list>
                {if list.is_empty() {
                    view! { <EmptyState>"No categories yet."</EmptyState> }.into_any()
                } else {
                    view! {
                        <DataTable class="ops categories" headers=&["Name", "Slug", "Description", "Documents", ""]>
                            {list.into_iter().map(|c| view! { <CategoryRow category=c can_edit rename remove/> }).collect_view()}
                        </DataTable>
                    }.into_any()
                }}
            </Loaded>
            <ErrorAlert message=errors/>
            <Show when=move || can_edit>
                <form class="inline-form" aria-label="Add a category" on:submit=submit>
                    <Field label="Category name"><input name="name" required maxlength="100" bind:value=name/></Field>
                    <Field label="Category slug">
                        <input name="slug" maxlength="100" autocomplete="off" placeholder="empty: made from the name" bind:value=slug/>
                    </Field>
                    <Field label="Category description">
                        <input name="description" maxlength="2000" bind:value=description/>
                    </Field>
                    <SubmitButton label="Add category" busy="Adding…" pending=add.pending()/>
                </form>
            </Show>
        </section>
    }
}

/// One category; "Rename" opens a name field in the row below (Escape closes it), "Delete"
/// asks first.
#[component]
fn CategoryRow(
    category: Category,
    can_edit: bool,
    rename: ServerAction<EditCategory>,
    remove: ServerAction<DeleteCategory>,
) -> impl IntoView {
    let kb = category.kb_id;
    let id = category.id;
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let new_name = RwSignal::new(category.name.clone());
    let field = NodeRef::<leptos::html::Input>::new();
    // The name field takes the focus when it opens.
    Effect::new(move |_| {
        let el = field.get();
        #[cfg(feature = "hydrate")]
        if let Some(el) = el {
            let _ = el.focus();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = el;
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        rename.dispatch(EditCategory {
            id: kb,
            category_id: id,
            input: UpdateCategory {
                name: Some(new_name.get_untracked()),
                ..Default::default()
            },
        });
    };
    let name = category.name.clone();
    let form_label = format!("Rename {name}");
    view! {
        <tr data-category=category.slug.clone()>
            <td>{category.name.clone()}</td>
            <td><code>{category.slug.clone()}</code></td>
            <td>{category.description.clone()}</td>
            <td>{category.document_count.to_string()}</td>
            <td class="actions">
                <Show when=move || can_edit>
                    <button class="button secondary" type="button"
                        aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|e| *e = !*e)>"Rename"</button>
                    <button class="button danger" type="button"
                        on:click=move |_| confirming.set(true)>"Delete"</button>
                </Show>
            </td>
        </tr>
        <Show when=move || editing.get()>
            <tr class="detail-row"><td colspan="5">
                <form class="inline-form" aria-label=form_label.clone() on:submit=save>
                    <Field label="New name">
                        <input name="name" required maxlength="100" node_ref=field bind:value=new_name
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Escape" {
                                    editing.set(false);
                                }
                            }/>
                    </Field>
                    <button class="button" type="submit" disabled=move || rename.pending().get()>"Save"</button>
                    <button class="button secondary" type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </td></tr>
        </Show>
        <Show when=move || confirming.get()>
            <tr class="detail-row"><td colspan="5">
                <ConfirmDelete open=confirming
                    question=format!("Delete the category “{name}”? Its documents stay, uncategorised.")
                    on_confirm=move || { remove.dispatch(DeleteCategory { id: kb, category_id: id }); }/>
            </td></tr>
        </Show>
    }
}
