//! The REST API, shaped like maph's original daemon:
//!
//! - `GET /healthz`
//! - `POST /stores` with JSON `{"name": ..., "slots": ..., "slot_size": ...}`
//! - `GET /stores`, `DELETE /stores/{name}`
//! - `PUT|GET|DELETE /stores/{name}/keys/{key}` (key percent-encoded, any
//!   bytes; value as the body, `application/octet-stream`)
//! - `GET /stores/{name}/keys?prefix=P&limit=N&cursor=C`: a page of the
//!   store's keys (`list_keys`)
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

use crate::commands::SCAN_MAX_BYTES;
use crate::names;
use crate::scan::{parse_cursor, Flow, Seen, Walk};

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

    /// The store and the key of a `/stores/{name}/keys/{key}` request, both
    /// decoded from the raw path: axum's `Path` would refuse a key that is
    /// not UTF-8 once decoded (`%FF`), and so the whole request.
    fn store_and_key(&self, uri: &Uri) -> Result<(Arc<Store>, Vec<u8>), Response> {
        let bad = |m: String| err(StatusCode::BAD_REQUEST, m);
        // The router matched the path: neither segment holds a raw '/'.
        let rest = uri.path().strip_prefix("/stores/").unwrap_or_default();
        let (raw_name, raw_key) = rest.split_once("/keys/").unwrap_or_default();
        let name = names::percent_decode(raw_name)
            .map_err(|_| bad("bad percent-escape in the store name".into()))?;
        // A name that is not UTF-8 fails `names::check` as its lossy text.
        let s = self.store(&String::from_utf8_lossy(&name))?;
        let k = names::percent_decode(raw_key).map_err(bad)?;
        if k.is_empty() {
            return Err(bad("empty key".into()));
        }
        Ok((s, k))
    }
}

/// The router, serving `rest`. `max_body` bounds request bodies.
pub fn router(rest: Shared, max_body: usize) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/stores", post(create).get(list))
        .route("/stores/{name}", axum::routing::delete(drop_store))
        .route("/stores/{name}/keys", get(list_keys))
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

async fn get_key(State(r): State<Shared>, uri: Uri) -> Response {
    let (s, k) = match r.store_and_key(&uri) {
        Ok(sk) => sk,
        Err(e) => return e,
    };
    match s.get_vec(&k) {
        Ok(v) => ([(header::CONTENT_TYPE, "application/octet-stream")], v).into_response(),
        Err(Error::NotFound | Error::TooLarge(_)) => err(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => store_err(&e),
    }
}

async fn put_key(State(r): State<Shared>, uri: Uri, body: Bytes) -> Response {
    let (s, k) = match r.store_and_key(&uri) {
        Ok(sk) => sk,
        Err(e) => return e,
    };
    match s.set(&k, &body) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_err(&e),
    }
}

async fn del_key(State(r): State<Shared>, uri: Uri) -> Response {
    let (s, k) = match r.store_and_key(&uri) {
        Ok(sk) => sk,
        Err(e) => return e,
    };
    match s.del(&k) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(Error::NotFound | Error::TooLarge(_)) => err(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => store_err(&e),
    }
}

/// Keys in a listing page when the request gives no `limit`.
const LIST_DEFAULT: usize = 100;
/// The largest `limit` of a listing page.
const LIST_MAX: usize = 10_000;
/// Parts (`scan`: at most one slot of each level in use) a listing page
/// looks at, at most: a page for a rare prefix may hold fewer than `limit`
/// keys, even none, with a cursor that is not 0.
const LIST_MAX_PARTS: u64 = 100_000;

/// A key listing request: `?prefix=P&limit=N&cursor=C`.
struct ListQuery {
    prefix: Vec<u8>,
    limit: usize,
    cursor: u64,
}

/// Parses the listing query. Values are percent-decoded as keys in paths
/// are (a `+` stays a `+`), so a prefix may be any bytes.
fn list_query(q: Option<&str>) -> Result<ListQuery, Response> {
    let bad = |m: String| err(StatusCode::BAD_REQUEST, m);
    let mut lq = ListQuery { prefix: Vec::new(), limit: LIST_DEFAULT, cursor: 0 };
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = names::percent_decode(v).map_err(|m| bad(format!("{m} of '{k}'")))?;
        match k {
            "prefix" => lq.prefix = v,
            "limit" => {
                lq.limit = std::str::from_utf8(&v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|l| (1..=LIST_MAX).contains(l))
                    .ok_or_else(|| bad(format!("limit must be 1 to {LIST_MAX}")))?
            }
            "cursor" => {
                let digits = !v.is_empty() && v.iter().all(u8::is_ascii_digit);
                lq.cursor = digits.then(|| parse_cursor(&v)).flatten().ok_or_else(|| {
                    bad("cursor must be a number from an earlier page, or 0".into())
                })?
            }
            _ => return Err(bad(format!("unknown parameter '{k}' (prefix, limit, cursor)"))),
        }
    }
    Ok(lq)
}

/// `GET /stores/{name}/keys?prefix=P&limit=N&cursor=C`: one page of the
/// keys that start with `P` (default: all), at most `N` of them (default
/// 100, at most `LIST_MAX`), from cursor `C` (default 0, the start). The
/// answer is `{"keys": [...], "binary_keys": [...], "cursor": C2}`: keys
/// that are valid UTF-8 as JSON strings in `keys`, the others
/// percent-encoded (`names::percent_encode`, the form the
/// `/keys/{key}` routes take) in `binary_keys`; `C2` is the cursor of the
/// next page, 0 when the listing is complete. Pages follow SCAN's rules
/// (see `scan`): a key present for the whole listing is in exactly one
/// page; a page may hold fewer than `N` keys, even none, before the end
/// (pages stop after `LIST_MAX_PARTS` parts or `SCAN_MAX_BYTES` of keys);
/// a page holds more than `N` keys only when `N` is below the keys of one
/// part (at most one per level of a growing store), which is never split.
async fn list_keys(State(r): State<Shared>, Path(name): Path<String>, uri: Uri) -> Response {
    let (s, q) = match (r.store(&name), list_query(uri.query())) {
        (Ok(s), Ok(q)) => (s, q),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match tokio::task::spawn_blocking(move || list_page(&s, &q)).await {
        Ok(resp) => resp,
        Err(_) => err(StatusCode::INTERNAL_SERVER_ERROR, "key listing failed"),
    }
}

fn list_page(st: &Store, q: &ListQuery) -> Response {
    let mut key = vec![0u8; st.slot_capacity()];
    let mut val = key.clone();
    let (mut text, mut binary, mut bytes) = (Vec::new(), Vec::new(), 0);
    // Keys taken before the current part, to drop the part on `Undo`.
    let (mut text_before, mut binary_before) = (0, 0);
    let r = Walk::new(st).run(q.cursor, LIST_MAX_PARTS, &mut key, &mut val, |ev| match ev {
        Seen::Key(k) if k.starts_with(&q.prefix) => {
            bytes += k.len();
            match std::str::from_utf8(k) {
                Ok(t) => text.push(t.to_string()),
                Err(_) => binary.push(names::percent_encode(k)),
            }
            Flow::Go
        }
        Seen::Key(_) => Flow::Go,
        Seen::PartEnd => {
            let n = text.len() + binary.len();
            if n > q.limit && text_before + binary_before > 0 {
                text.truncate(text_before);
                binary.truncate(binary_before);
                return Flow::Undo;
            }
            (text_before, binary_before) = (text.len(), binary.len());
            if n >= q.limit || bytes >= SCAN_MAX_BYTES {
                Flow::Stop
            } else {
                Flow::Go
            }
        }
    });
    match r {
        Ok(next) => {
            Json(serde_json::json!({ "keys": text, "binary_keys": binary, "cursor": next }))
                .into_response()
        }
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
