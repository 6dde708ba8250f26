//! The public and admin routers: each capability's routes with its state,
//! and the layers every response goes through.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Services;
use crate::error;
use crate::http::{RefuseNul, body_limit, require_admin};
use crate::openapi::{self, Api};
use crate::state::AppState;
use crate::{
    attest, auth, console, customers, discovery, limits, payments, quotes, recovery, telemetry,
};

/// A request's span: method, route template and request id — never the
/// URI, whose path and query carry ids, addresses and tokens. An id the
/// public listener would not keep (the admin listener does not replace
/// them) is left out: a client may have put a token there.
fn span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let id = req
        .headers()
        .get("x-request-id")
        .filter(|v| telemetry::acceptable_request_id(v))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), route, request_id = id)
}

/// The public router: every endpoint, with CORS, request ids (set by
/// `serve::handle`, echoed here), tracing, metrics, a body limit and panic
/// recovery; and `/openapi.json`, which describes what is mounted. Its
/// layers are plain tower layers, none boxing per request: a held long
/// poll carries every layer's future.
pub fn public(state: &AppState, services: &Services, max_body_bytes: usize) -> Router {
    let doc = openapi::Slot::default();
    let mut app = OpenApiRouter::new()
        .routes(routes!(openapi::public))
        .with_state(doc.clone())
        .merge(discovery::router().with_state(state.with(services.stellar_toml.clone())))
        .merge(auth::router().with_state(state.with(services.web_auth.clone())));
    if services.sep12_enabled {
        let max_request =
            usize::try_from(services.customers.cfg().max_request_bytes).unwrap_or(usize::MAX);
        app = app.merge(
            customers::router(max_request).with_state(state.with(services.customers.clone())),
        );
    }
    if services.sep30_enabled {
        app = app.merge(recovery::router().with_state(state.with(services.recovery.clone())));
    }
    // Always mounted: without SEP-12 there is no KYC to gate on, and
    // /kyc-check says so with 204 (limits are off then).
    app = app.merge(limits::router().with_state(state.with(services.kyc_limits.clone())));
    if services.sep12_enabled {
        app = app.merge(attest::router().with_state(state.with(services.attest.clone())));
    }
    if services.sep38_enabled {
        app = app.merge(quotes::router().with_state(state.with(services.quotes.clone())));
    }
    if services.sep31_enabled {
        app = app.merge(payments::router().with_state(state.with(services.payments.clone())));
    }
    let (app, description) = app.split_for_parts();
    openapi::fill(&doc, &openapi::finish(description, Api::Public));
    // SEP-1 and SEP-10 §Cross-Origin Headers: `Access-Control-Allow-Origin: *`
    // on every response, errors included, and preflight answered.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(86_400));
    app.fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(telemetry::Metrics)
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(cors)
                .layer(RefuseNul)
                .layer(body_limit(max_body_bytes)),
        )
}

/// The admin router: each capability's admin routes, every one behind the
/// admin token; its OpenAPI document (open, like the code it describes);
/// and the console, behind its own session.
pub fn admin(state: &AppState, services: &Services) -> Router {
    let mut app = OpenApiRouter::new();
    if services.sep31_enabled {
        app =
            app.merge(payments::admin::router().with_state(state.with(services.payments.clone())));
    }
    let doc = openapi::Slot::default();
    let (app, description) = app
        .merge(customers::admin::router().with_state(state.with(services.customers.clone())))
        .merge(recovery::admin::router().with_state(state.with(services.recovery.clone())))
        .merge(limits::admin::router().with_state(state.with(services.kyc_limits.clone())))
        .merge(attest::admin::router().with_state(state.with(services.attest.clone())))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_admin,
        ))
        // Like the code it describes, the description is no secret.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(openapi::admin))
                .with_state(doc.clone()),
        )
        .split_for_parts();
    openapi::fill(&doc, &openapi::finish(description, Api::Admin));
    app
        // The console's pages stand on its session cookie instead.
        .merge(console::router().with_state(state.with(services.console.clone())))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(RefuseNul)
                .layer(body_limit(64 * 1024)),
        )
}
