//! The console (SPEC §13): static pages served from the binary, and the development token they
//! pre-fill on a development server.
//!
//! Two folders are embedded at compile time and served as they are, without knowing what is in
//! them: the console's pages (`console/www/`) at `/console/`, and the JavaScript SDK
//! (`clients/js/src/`, ES modules with relative imports) at `/sdk/client/`, which the pages
//! import through an import map. Nothing is fetched from the network at run time.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::{EmbeddedFile, RustEmbed};
use serde_json::json;

use crate::auth;
use crate::config::Environment;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "../../console/www/"]
#[allow_missing = true]
struct ConsoleFiles;

#[derive(RustEmbed)]
#[folder = "../../clients/js/src/"]
#[allow_missing = true]
struct SdkFiles;

/// How long a development token is valid.
const DEV_TOKEN_TTL_SECS: i64 = 12 * 3600;

/// The console's routes: `/` and `/console` lead to `/console/`, the pages, the SDK modules and
/// the development token.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| {
        web::resource(path).default_service(web::to(crate::routes::method_not_allowed))
    };
    cfg.service(
        resource("/")
            .route(web::get().to(root))
            .route(web::head().to(root)),
    )
    .service(
        resource("/console")
            .route(web::get().to(console_slash))
            .route(web::head().to(console_slash)),
    )
    .service(resource("/console/dev-token").route(web::get().to(dev_token)))
    .service(
        resource("/console/{path:.*}")
            .route(web::get().to(console_file))
            .route(web::head().to(console_file)),
    )
    .service(
        resource("/sdk/client/{path:.*}")
            .route(web::get().to(sdk_file))
            .route(web::head().to(sdk_file)),
    );
}

fn redirect(location: &'static str, permanent: bool) -> HttpResponse {
    let mut response = if permanent {
        HttpResponse::PermanentRedirect()
    } else {
        HttpResponse::Found()
    };
    response
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `GET /`: the console. Not permanent, so the root may serve something else one day.
async fn root() -> HttpResponse {
    redirect("/console/", false)
}

/// `/console` without the slash: the pages' relative links start at `/console/`.
async fn console_slash() -> HttpResponse {
    redirect("/console/", true)
}

async fn console_file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let file = safe(&path).and_then(|p| {
        if p.is_empty() || p.ends_with('/') {
            let index = format!("{p}index.html");
            ConsoleFiles::get(&index).map(|f| (index, f))
        } else if let Some(f) = ConsoleFiles::get(p) {
            Some((p.to_owned(), f))
        } else if !p.rsplit('/').next().unwrap_or(p).contains('.') {
            // `/console/activity` is `activity.html`.
            let page = format!("{p}.html");
            ConsoleFiles::get(&page).map(|f| (page, f))
        } else {
            None
        }
    });
    match file {
        Some((name, file)) => Ok(serve(&req, &name, file)),
        None => Err(ApiError::NotFound(format!(
            "the console has no file `{path}`"
        ))),
    }
}

async fn sdk_file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    match safe(&path).and_then(|p| SdkFiles::get(p).map(|f| (p, f))) {
        Some((name, file)) => Ok(serve(&req, name, file)),
        None => Err(ApiError::NotFound(format!(
            "the client SDK has no file `{path}`"
        ))),
    }
}

/// A relative path without `..`, empty, hidden or backslashed segments; anything else is
/// refused before the lookup (which only knows embedded names anyway).
fn safe(path: &str) -> Option<&str> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let ok = trimmed.is_empty()
        || trimmed
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains('\\'));
    (ok && !path.starts_with('/')).then_some(path)
}

/// The Content-Type of a served file, by extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(req: &HttpRequest, name: &str, file: EmbeddedFile) -> HttpResponse {
    let etag: String = file
        .metadata
        .sha256_hash()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{etag}\"");
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // No build step means no content-hashed names: browsers keep the files but ask every time
    // (a 304 when unchanged), so a new binary never runs with yesterday's scripts.
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if name.ends_with(".html") {
        response.insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if not_modified {
        return response.finish();
    }
    response
        .content_type(content_type(name))
        .body(file.data.into_owned())
}

/// Whether a bind address is a loopback one (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback_bind(bind: &str) -> bool {
    if let Ok(addr) = bind.parse::<SocketAddr>() {
        return addr.ip().is_loopback();
    }
    bind.rsplit_once(':')
        .is_some_and(|(host, _)| host.eq_ignore_ascii_case("localhost"))
}

/// Whether the `Host` the browser asked for names this machine: a page on another origin that
/// had its name re-pointed at 127.0.0.1 (DNS rebinding) still sends its own name.
fn loopback_host(req: &HttpRequest) -> bool {
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why the development token is not offered to this request, if it is not.
fn dev_token_refusal(state: &AppState, req: &HttpRequest) -> Option<&'static str> {
    let settings = &state.settings;
    if settings.env != Environment::Development {
        return Some("this server runs in production");
    }
    if !is_loopback_bind(&settings.server.bind) {
        return Some("this server listens on a non-loopback address");
    }
    if !req.peer_addr().is_some_and(|a| a.ip().is_loopback()) {
        return Some("the request does not come from this machine");
    }
    let headers = req.headers();
    if ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h))
    {
        return Some("the request came through a proxy");
    }
    if !loopback_host(req) {
        return Some("the page was not opened on a loopback address");
    }
    None
}

/// `GET /console/dev-token`: a fresh token for tenant `dev` with the `admin` role and no
/// `client_id` claim, only from a development server on a loopback address to a browser on
/// the same machine. Anywhere else it does not exist (404).
async fn dev_token(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let not_offered = |why: &str| {
        ApiError::NotFound(format!(
            "no development token: {why}; paste a bearer token instead"
        ))
    };
    if let Some(why) = dev_token_refusal(&state, &req) {
        return Err(not_offered(why));
    }
    let claims = auth::claims(
        "dev",
        "developer",
        None,
        DEV_TOKEN_TTL_SECS,
        None,
        vec!["admin".into()],
    );
    let expires_at = claims.exp;
    let token = state
        .auth
        .issue(claims)
        .map_err(|_| not_offered("tokens are verified with a public key here"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(json!({
            "success": true,
            "data": {
                "token": token,
                "tenantId": "dev",
                "subject": "developer",
                "roles": ["admin"],
                "expiresAt": expires_at,
            }
        })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_or_hide_are_refused() {
        assert_eq!(safe("index.html"), Some("index.html"));
        assert_eq!(safe(""), Some(""));
        assert_eq!(safe("js/app.js"), Some("js/app.js"));
        assert_eq!(safe("../Cargo.toml"), None);
        assert_eq!(safe("js/../../x"), None);
        assert_eq!(safe(".git/config"), None);
        assert_eq!(safe("a//b"), None);
        assert_eq!(safe("/etc/passwd"), None);
        assert_eq!(safe("a\\..\\b"), None);
    }

    #[test]
    fn files_get_the_content_type_of_their_extension() {
        assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("js/x.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("s.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("index.d.ts"), "text/plain; charset=utf-8");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }

    #[test]
    fn only_loopback_binds_count_as_loopback() {
        assert!(is_loopback_bind("127.0.0.1:8080"));
        assert!(is_loopback_bind("[::1]:8080"));
        assert!(is_loopback_bind("localhost:8080"));
        assert!(!is_loopback_bind("0.0.0.0:8080"));
        assert!(!is_loopback_bind("192.168.1.2:8080"));
        assert!(!is_loopback_bind("example.com:8080"));
    }
}
