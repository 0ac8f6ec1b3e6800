//! API Gateway HTTP API (payload format 2.0) requests: the health route, the database route and the placeholder answer
//! for every other route. Pure functions of the event: no I/O, never a panic, every malformed request gets a 4xx JSON
//! error. The one route that needs the database ([`DATABASE_PATH`]) comes back as [`Routed::ReadDatabase`]: the handler
//! does the read and hands the result to [`DatabaseRequest::answer`].

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine as _;
use serde_json::{Value, json};

/// The route that reads the database: what the real API's routes will do (connect lazily, one query as `pmp_api`).
pub const DATABASE_PATH: &str = "/database";

/// What [`route_event`] decided.
#[derive(Debug)]
pub enum Routed {
    /// The answer, complete.
    Answer(ApiGatewayV2httpResponse),
    /// `GET /database`: read the database, then answer with [`DatabaseRequest::answer`].
    ReadDatabase(DatabaseRequest),
}

/// A request for [`DATABASE_PATH`] waiting for its read.
#[derive(Debug)]
pub struct DatabaseRequest {
    info: ServiceInfo,
    lambda_request_id: String,
    api_request_id: Option<String>,
}

/// What the database route read, as the API's role sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRead {
    /// `current_user`: the role the session runs as (`pmp_api` in AWS).
    pub role: String,
    /// `count(*)` of the purpose catalogue, a table `pmp_api` may read.
    pub purposes: i64,
    /// `pg_backend_pid()`: which server session served the read (one per execution environment).
    pub backend_pid: i32,
}

/// Why the database route could not read; each kind has its own error code, so a load test (and a client) can tell a
/// full pool from a refused connection without seeing the database's own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseFailure {
    /// The pooler (RDS Proxy, PgBouncer) gave up waiting for a free database connection.
    PoolWaitTimeout,
    /// The database refused the connection: `max_connections` reached (SQLSTATE 53300).
    TooManyConnections,
    /// Anything else: unreachable, authentication, a failed query.
    Unavailable,
}

impl DatabaseFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::PoolWaitTimeout => "database_pool_timeout",
            Self::TooManyConnections => "database_too_many_connections",
            Self::Unavailable => "database_unavailable",
        }
    }
}

impl DatabaseRequest {
    /// The answer: 200 with what was read, or 503 with the failure's code (the details are in the function's log).
    pub fn answer(self, read: Result<DatabaseRead, DatabaseFailure>) -> ApiGatewayV2httpResponse {
        let ids = RequestIds {
            lambda: &self.lambda_request_id,
            api: self.api_request_id.clone(),
        };
        match read {
            Ok(read) => json_response(
                200,
                &json!({
                    "placeholder": true,
                    "message": "Placeholder answer: the PMP API is not implemented yet; this route shows what it read from the database.",
                    "service": self.info.service,
                    "stage": self.info.stage,
                    "database": {
                        "role": read.role,
                        "purposes": read.purposes,
                        "backend_pid": read.backend_pid,
                    },
                    "request_id": ids.lambda,
                    "api_request_id": ids.api,
                }),
            ),
            Err(failure) => {
                let mut response = error(
                    503,
                    failure.code(),
                    "the database is not available; try again later",
                    &ids,
                );
                // Every kind is transient: a client may retry after a moment.
                response
                    .headers
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
        }
    }
}

/// What every answer says about the function itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub service: &'static str,
    pub version: &'static str,
    /// `PMP_STAGE`
    pub stage: String,
}

impl ServiceInfo {
    pub fn new(stage: impl Into<String>) -> Self {
        Self {
            service: "pmp-api",
            version: env!("CARGO_PKG_VERSION"),
            stage: stage.into(),
        }
    }
}

/// Answers one API event. `event` has already been recognised as coming from API Gateway (it has a
/// `requestContext`); `lambda_request_id` is the invocation's id, echoed so a client report can be found in the logs.
pub fn respond(
    event: Value,
    info: &ServiceInfo,
    lambda_request_id: &str,
) -> ApiGatewayV2httpResponse {
    match route_event(event, info, lambda_request_id) {
        Routed::Answer(response) => response,
        // Without a database at hand (callers that do no I/O), the database route is unavailable.
        Routed::ReadDatabase(request) => request.answer(Err(DatabaseFailure::Unavailable)),
    }
}

/// As [`respond`], but the database route is left to the caller (see [`Routed`]).
pub fn route_event(event: Value, info: &ServiceInfo, lambda_request_id: &str) -> Routed {
    let ids = RequestIds {
        lambda: lambda_request_id,
        api: api_request_id(&event),
    };
    let request = match parse(event) {
        Ok(request) => request,
        Err(message) => return Routed::Answer(error(400, "bad_request", &message, &ids)),
    };
    let method = request.request_context.http.method.clone();
    let Some(path) = request
        .request_context
        .http
        .path
        .clone()
        .or_else(|| request.raw_path.clone())
    else {
        return Routed::Answer(error(
            400,
            "bad_request",
            "the event has no request path",
            &ids,
        ));
    };
    if !path.starts_with('/') {
        return Routed::Answer(error(
            400,
            "bad_request",
            "the request path must start with '/'",
            &ids,
        ));
    }
    if let Err(message) = check_body(&request) {
        return Routed::Answer(error(400, "bad_request", &message, &ids));
    }
    if path == DATABASE_PATH {
        if method != Method::GET {
            let mut response = error(
                405,
                "method_not_allowed",
                "/database answers GET only",
                &ids,
            );
            response
                .headers
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            return Routed::Answer(response);
        }
        return Routed::ReadDatabase(DatabaseRequest {
            info: info.clone(),
            lambda_request_id: lambda_request_id.to_owned(),
            api_request_id: ids.api,
        });
    }

    let response = route(&method, &path, info, &ids);
    tracing::info!(
        http.method = %method,
        http.path = %path,
        http.status = response.status_code,
        api_request_id = ids.api.as_deref().unwrap_or_default(),
        "request handled"
    );
    Routed::Answer(response)
}

struct RequestIds<'a> {
    lambda: &'a str,
    /// API Gateway's own id (`requestContext.requestId`), also in its access logs.
    api: Option<String>,
}

fn api_request_id(event: &Value) -> Option<String> {
    event
        .get("requestContext")?
        .get("requestId")?
        .as_str()
        .map(str::to_owned)
}

fn parse(event: Value) -> Result<ApiGatewayV2httpRequest, String> {
    let is_v2 = event.get("version").and_then(Value::as_str) == Some("2.0")
        && event
            .get("requestContext")
            .and_then(|context| context.get("http"))
            .is_some_and(Value::is_object);
    if !is_v2 {
        return Err("unsupported API Gateway event: this function expects HTTP API payload format version 2.0".into());
    }
    serde_json::from_value(event).map_err(|error| format!("malformed API Gateway event: {error}"))
}

/// A body the client declares as JSON must be JSON, and a base64-flagged body must decode: a handler that reads
/// the body later can then trust both.
fn check_body(request: &ApiGatewayV2httpRequest) -> Result<(), String> {
    let Some(body) = request.body.as_deref().filter(|body| !body.is_empty()) else {
        return Ok(());
    };
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| "the request body is flagged as base64 but does not decode".to_owned())?
    } else {
        body.as_bytes().to_vec()
    };
    if declares_json(&request.headers) {
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
            .map_err(|error| format!("the request body is not valid JSON: {error}"))?;
    }
    Ok(())
}

/// `application/json` or any `+json` media type, parameters ignored.
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

fn route(
    method: &Method,
    path: &str,
    info: &ServiceInfo,
    ids: &RequestIds<'_>,
) -> ApiGatewayV2httpResponse {
    if path == "/health" {
        if method != Method::GET {
            let mut response = error(405, "method_not_allowed", "/health answers GET only", ids);
            response
                .headers
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            return response;
        }
        // Liveness of the function only: no database round trip, so a health check never costs a connection.
        return json_response(
            200,
            &json!({
                "status": "ok",
                "service": info.service,
                "version": info.version,
                "stage": info.stage,
            }),
        );
    }
    json_response(
        200,
        &json!({
            "placeholder": true,
            "message": "Placeholder answer: the PMP API is not implemented yet; this mock echoes the request.",
            "service": info.service,
            "stage": info.stage,
            "method": method.as_str(),
            "path": path,
            "request_id": ids.lambda,
            "api_request_id": ids.api,
        }),
    )
}

fn error(status: u16, code: &str, message: &str, ids: &RequestIds<'_>) -> ApiGatewayV2httpResponse {
    tracing::warn!(
        http.status = status,
        code,
        message,
        api_request_id = ids.api.as_deref().unwrap_or_default(),
        "request refused"
    );
    json_response(
        status,
        &json!({
            "error": { "status": status, "code": code, "message": message },
            "request_id": ids.lambda,
            "api_request_id": ids.api,
        }),
    )
}

fn json_response(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Answers are per request and may later carry personal data: never cached by a browser or a proxy.
    response
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response.body = Some(Body::Text(body.to_string()));
    response.is_base64_encoded = false;
    response
}
