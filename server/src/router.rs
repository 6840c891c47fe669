//! Assembles every HTTP surface and the middleware stack. Used by `serve`, `dev` and the tests.

use std::sync::Arc;

use aerie_app::ui::{App, shell};
use aerie_backend::AppState;
use aerie_backend::services::system::ApiCatalogue;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::middleware::{
    actor, credentials, csrf, errors, host_check, idempotency, metrics, security_headers, trace,
};
use crate::openapi::{ApiDoc, catalogue};
use crate::routes;

/// The OpenAPI document generated from the routes, with the services' limits (`limits.rs`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = openapi_without_limits();
    crate::limits::document(&mut doc);
    doc
}

/// The document as the routes and contract types alone describe it.
pub(crate) fn openapi_without_limits() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .merge(routes::api())
        .into_openapi()
}

/// The whole application.
pub fn build_router(state: AppState) -> Router {
    build_router_with(state, Router::new())
}

/// The whole application plus `extra` routes, behind the same middleware (tests use this).
pub fn build_router_with(state: AppState, extra: Router<AppState>) -> Router {
    let (api, mut spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::api())
        .split_for_parts();
    crate::limits::document(&mut spec);
    let catalogue = ApiCatalogue(Arc::new(catalogue(&spec)));
    let access = credentials::Routes::from_spec(&spec);
    let idempotent = idempotency::Idempotent::from_spec(state.ctx.clone(), &spec);
    let spec_json: Arc<str> = spec.to_json().unwrap_or_else(|_| "{}".to_owned()).into();

    let options = (*state.leptos_options).clone();
    let pkg_dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let pkg = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ))
        .service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        );
    let max_body = state.ctx.config().max_body_bytes;
    // Install the recorder before the first request is counted.
    metrics::handle();

    Router::new()
        .merge(api)
        .merge(extra)
        .route(
            "/api/openapi.json",
            get(move || {
                let spec = spec_json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        spec.to_string(),
                    )
                }
            }),
        )
        .nest_service("/pkg", pkg)
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            move || {
                provide_context(catalogue.clone());
                security_headers::provide_nonce();
            },
            move || shell(options.clone()),
        )
        .fallback(routes::fallback::not_found)
        .method_not_allowed_fallback(routes::fallback::method_not_allowed)
        // Inside the credentials check: only a caller the route accepts claims a key.
        .layer(axum::middleware::from_fn_with_state(
            idempotent,
            idempotency::apply,
        ))
        .layer(axum::middleware::from_fn_with_state(
            access,
            credentials::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.ctx.clone(),
            actor::resolve,
        ))
        .layer(aerie_backend::sessions::layer(&state.ctx))
        .layer(axum::middleware::from_fn(csrf::protect))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(trace::make_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        .on_failure(DefaultOnFailure::new().level(Level::ERROR)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(metrics::track))
                .layer(axum::middleware::from_fn(security_headers::apply))
                .layer(axum::middleware::from_fn_with_state(
                    host_check::HostCheck::new(state.ctx.clone()),
                    host_check::check,
                ))
                .layer(axum::middleware::from_fn(errors::ensure_contract_body))
                .layer(CatchPanicLayer::custom(errors::panic_response)),
        )
        .with_state(state)
}
