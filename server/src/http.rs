//! The REST API, shaped like maph's original daemon:
//!
//! - `GET /healthz`
//! - `POST /stores` with JSON `{"name": ..., "slots": ..., "slot_size": ...}`
//! - `GET /stores`, `DELETE /stores/{name}`
//! - `PUT|GET|DELETE /stores/{name}/keys/{key}` (key percent-encoded, any
//!   bytes; value as the body, `application/octet-stream`)
//! - `POST /stores/{name}/optimize`, `GET /stores/{name}/stats`
//!
//! Stores live in `--dir` as `<name>.maph` (see `names`); the `--store`
//! store is also served as `default` and cannot be deleted. Errors are JSON
//! `{"error": "..."}` with 400 (bad name, key or options), 404 (no such
//! store or key), 409 (store exists), 413 (value too large for a slot), 507
//! (store full), 500 (anything else).
#![allow(clippy::result_large_err)] // Err is the ready HTTP response.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maph::{Error, OpenMode, Options, Store};
use serde::Deserialize;

use crate::names;

/// The stores the REST API serves.
pub struct Rest {
    pub dir: PathBuf,
    pub default: Arc<Store>,
    pub stores: RwLock<HashMap<String, Arc<Store>>>,
}

type Shared = Arc<Rest>;

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

fn store_err(e: &Error) -> Response {
    let code = match e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::InvalidArg(_) => StatusCode::BAD_REQUEST,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Full => StatusCode::INSUFFICIENT_STORAGE,
        Error::Exists => StatusCode::CONFLICT,
        Error::ReadOnly => StatusCode::FORBIDDEN,
        Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    err(code, e.to_string())
}

impl Rest {
    /// The store `name`: `default`, an open one, or `DIR/<name>.maph`
    /// opened now.
    fn store(&self, name: &str) -> Result<Arc<Store>, Response> {
        names::check(name).map_err(|m| err(StatusCode::BAD_REQUEST, m))?;
        if name == "default" {
            return Ok(self.default.clone());
        }
        if let Some(s) = self.stores.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(s.clone());
        }
        let path = names::path_of(&self.dir, name);
        if !path.exists() {
            return Err(err(StatusCode::NOT_FOUND, format!("no store named '{name}'")));
        }
        let s = Arc::new(Store::open(&path, OpenMode::ReadWrite).map_err(|e| store_err(&e))?);
        let mut m = self.stores.write().unwrap_or_else(|e| e.into_inner());
        Ok(m.entry(name.to_string()).or_insert(s).clone())
    }
}

/// The key segment of a `/stores/{name}/keys/{key}` request, decoded to
/// bytes (axum's own decoding would refuse keys that are not UTF-8).
fn key_of(uri: &Uri) -> Result<Vec<u8>, Response> {
    let raw = uri.path().rsplit_once("/keys/").map(|p| p.1).unwrap_or_default();
    let k = names::percent_decode(raw).map_err(|m| err(StatusCode::BAD_REQUEST, m))?;
    if k.is_empty() {
        return Err(err(StatusCode::BAD_REQUEST, "empty key"));
    }
    Ok(k)
}

/// The router, serving `rest`. `max_body` bounds request bodies.
pub fn router(rest: Shared, max_body: usize) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/stores", post(create).get(list))
        .route("/stores/{name}", axum::routing::delete(drop_store))
        .route("/stores/{name}/keys/{key}", get(get_key).put(put_key).delete(del_key))
        .route("/stores/{name}/optimize", post(optimize))
        .route("/stores/{name}/stats", get(stats))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(rest)
}

#[derive(Deserialize)]
struct CreateReq {
    name: String,
    slots: u64,
    slot_size: Option<u32>,
}

async fn create(State(r): State<Shared>, body: Bytes) -> Response {
    let req: CreateReq = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(e) => return err(StatusCode::BAD_REQUEST, format!("bad JSON: {e}")),
    };
    if let Err(m) = names::check(&req.name) {
        return err(StatusCode::BAD_REQUEST, m);
    }
    if req.name == "default" {
        return err(StatusCode::CONFLICT, "'default' is the --store store");
    }
    let mut opts = Options { slots: req.slots, ..Options::default() };
    if let Some(s) = req.slot_size {
        opts.slot_size = s;
    }
    let path = names::path_of(&r.dir, &req.name);
    let name = req.name.clone();
    let made = tokio::task::spawn_blocking(move || Store::create(&path, &opts)).await;
    match made {
        Ok(Ok(s)) => {
            r.stores.write().unwrap_or_else(|e| e.into_inner()).insert(name.clone(), Arc::new(s));
            (StatusCode::CREATED, Json(serde_json::json!({ "name": name }))).into_response()
        }
        Ok(Err(e)) => store_err(&e),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "store creation failed"),
    }
}

async fn list(State(r): State<Shared>) -> Response {
    let mut names = vec!["default".to_string()];
    if let Ok(rd) = std::fs::read_dir(&r.dir) {
        for e in rd.flatten() {
            let f = e.file_name();
            if let Some(n) = f.to_str().and_then(|f| f.strip_suffix(".maph")) {
                if names::check(n).is_ok() && n != "default" {
                    names.push(n.to_string());
                }
            }
        }
    }
    names[1..].sort();
    Json(serde_json::json!({ "stores": names })).into_response()
}

async fn drop_store(State(r): State<Shared>, Path(name): Path<String>) -> Response {
    if let Err(m) = names::check(&name) {
        return err(StatusCode::BAD_REQUEST, m);
    }
    if name == "default" {
        return err(StatusCode::BAD_REQUEST, "the default store cannot be deleted");
    }
    r.stores.write().unwrap_or_else(|e| e.into_inner()).remove(&name);
    // Requests still holding the store finish on the unlinked mapping.
    match std::fs::remove_file(names::path_of(&r.dir, &name)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            err(StatusCode::NOT_FOUND, format!("no store named '{name}'"))
        }
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn get_key(
    State(r): State<Shared>, Path((name, _)): Path<(String, String)>, uri: Uri,
) -> Response {
    let (s, k) = match (r.store(&name), key_of(&uri)) {
        (Ok(s), Ok(k)) => (s, k),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match s.get_vec(&k) {
        Ok(v) => ([(header::CONTENT_TYPE, "application/octet-stream")], v).into_response(),
        Err(Error::NotFound | Error::TooLarge(_)) => err(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => store_err(&e),
    }
}

async fn put_key(
    State(r): State<Shared>, Path((name, _)): Path<(String, String)>, uri: Uri, body: Bytes,
) -> Response {
    let (s, k) = match (r.store(&name), key_of(&uri)) {
        (Ok(s), Ok(k)) => (s, k),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match s.set(&k, &body) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_err(&e),
    }
}

async fn del_key(
    State(r): State<Shared>, Path((name, _)): Path<(String, String)>, uri: Uri,
) -> Response {
    let (s, k) = match (r.store(&name), key_of(&uri)) {
        (Ok(s), Ok(k)) => (s, k),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match s.del(&k) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(Error::NotFound | Error::TooLarge(_)) => err(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => store_err(&e),
    }
}

async fn optimize(State(r): State<Shared>, Path(name): Path<String>) -> Response {
    let s = match r.store(&name) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match tokio::task::spawn_blocking(move || s.optimize()).await {
        Ok(Ok(rep)) => Json(serde_json::json!({
            "generation": rep.generation, "keys": rep.keys,
            "probing": rep.probing, "bytes": rep.bytes,
        }))
        .into_response(),
        Ok(Err(e)) => store_err(&e),
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "optimize failed"),
    }
}

async fn stats(State(r): State<Shared>, Path(name): Path<String>) -> Response {
    match r.store(&name) {
        Ok(s) => Json(crate::info::store_json(&s.stats())).into_response(),
        Err(e) => e,
    }
}
