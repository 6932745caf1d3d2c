//! Bearer tokens: verification (HS256 secret, or RS256/ES256 public key) and issuing
//! development and CLI tokens.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use syncd_core::Scopes;
use syncd_model::{ClientId, SubjectId, TenantId, VisibilityClaims};

use crate::config::{AuthSettings, Secret};

/// Who a valid token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub client: Option<ClientId>,
    pub scopes: Scopes,
    pub roles: Vec<String>,
    /// The claims visibility rules can name: strings and lists of strings, `sub`, `client_id` and
    /// `roles` included.
    pub claims: VisibilityClaims,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused. Every case is a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's signature or algorithm is not accepted")]
    BadSignature,
    #[error("the token's issuer is not accepted")]
    BadIssuer,
    #[error("the token's audience is not accepted")]
    BadAudience,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the token's `{0}` claim is invalid")]
    BadClaim(&'static str),
    #[error("malformed token")]
    Malformed,
    /// RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand, and
    /// syncd understands none.
    #[error("the token's `crit` header names extensions this server does not support")]
    UnsupportedCritical,
}

/// A problem with the auth configuration itself.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(
        "no JWT secret or public key configured (set auth.jwt_secret, SYNCD_JWT_SECRET or auth.jwt_public_key_file)"
    )]
    NoKey,
    #[error("{file}: {problem}")]
    Key { file: String, problem: String },
    #[error("tokens can only be issued with an HS256 secret, not with a public key")]
    CannotIssue,
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    tenant_id: Option<String>,
    tid: Option<String>,
    exp: Option<i64>,
    client_id: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    scope: Option<String>,
    /// Every other claim: visibility rules may name any of them (SPEC §11).
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The claims syncd issues.
#[derive(Debug, Clone, Serialize)]
pub struct TokenClaims {
    pub sub: String,
    pub tenant_id: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Verifies tokens with the configured key; can issue tokens when the key is a secret.
pub struct Authenticator {
    decoding: DecodingKey,
    validation: Validation,
    encoding: Option<EncodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

impl Authenticator {
    /// Builds from settings; `secret` overrides the settings' secret (the development secret).
    pub fn new(settings: &AuthSettings, secret: Option<&Secret>) -> Result<Self, AuthConfigError> {
        let secret = secret.or(settings.jwt_secret.as_ref());
        let (decoding, algorithms, encoding) = match (secret, &settings.jwt_public_key_file) {
            (_, Some(path)) => {
                let (key, alg) = read_public_key(path)?;
                (key, vec![alg], None)
            }
            (Some(secret), None) => (
                DecodingKey::from_secret(secret.expose().as_bytes()),
                vec![Algorithm::HS256],
                Some(EncodingKey::from_secret(secret.expose().as_bytes())),
            ),
            (None, None) => return Err(AuthConfigError::NoKey),
        };
        let mut validation = Validation::new(algorithms[0]);
        validation.algorithms = algorithms;
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &settings.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &settings.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            decoding,
            validation,
            encoding,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                    ErrorKind::InvalidIssuer => AuthError::BadIssuer,
                    ErrorKind::InvalidAudience => AuthError::BadAudience,
                    ErrorKind::MissingRequiredClaim(c) if c == "sub" => {
                        AuthError::MissingClaim("sub")
                    }
                    ErrorKind::MissingRequiredClaim(c) if c == "exp" => {
                        AuthError::MissingClaim("exp")
                    }
                    ErrorKind::MissingRequiredClaim(c) if c == "iss" => {
                        AuthError::MissingClaim("iss")
                    }
                    ErrorKind::MissingRequiredClaim(c) if c == "aud" => {
                        AuthError::MissingClaim("aud")
                    }
                    ErrorKind::InvalidSignature
                    | ErrorKind::InvalidAlgorithm
                    | ErrorKind::InvalidAlgorithmName
                    | ErrorKind::InvalidKeyFormat => AuthError::BadSignature,
                    _ => AuthError::Malformed,
                }
            })?;
        if data.header.crit.is_some() {
            return Err(AuthError::UnsupportedCritical);
        }
        let claims = data.claims;
        let tenant = claims
            .tenant_id
            .or(claims.tid)
            .ok_or(AuthError::MissingClaim("tenant_id"))?;
        let tenant = TenantId::parse(tenant).map_err(|_| AuthError::BadClaim("tenant_id"))?;
        let subject = SubjectId::parse(claims.sub.ok_or(AuthError::MissingClaim("sub"))?)
            .map_err(|_| AuthError::BadClaim("sub"))?;
        let mut rule_claims = VisibilityClaims::new();
        for (name, value) in &claims.other {
            rule_claims.insert_json(name, value);
        }
        rule_claims.insert("sub", [subject.as_str()]);
        if let Some(client) = &claims.client_id {
            rule_claims.insert("client_id", [client.as_str()]);
        }
        if let Some(roles) = &claims.roles {
            rule_claims.insert("roles", roles.iter().map(String::as_str));
        }
        let client = claims
            .client_id
            .map(|c| ClientId::parse(c).map_err(|_| AuthError::BadClaim("client_id")))
            .transpose()?;
        Ok(Identity {
            claims: rule_claims,
            tenant,
            subject,
            client,
            scopes: claims
                .scope
                .as_deref()
                .map_or_else(Scopes::unrestricted, Scopes::parse),
            roles: claims.roles.unwrap_or_default(),
            expires_at: claims.exp.ok_or(AuthError::MissingClaim("exp"))?,
        })
    }

    /// Signs a token with the configured secret (HS256), adding the configured issuer and
    /// audience.
    pub fn issue(&self, mut claims: TokenClaims) -> Result<String, AuthConfigError> {
        let key = self.encoding.as_ref().ok_or(AuthConfigError::CannotIssue)?;
        if claims.iss.is_none() {
            claims.iss = self.issuer.clone();
        }
        if claims.aud.is_none() {
            claims.aud = self.audience.clone();
        }
        encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|e| AuthConfigError::Sign(e.to_string()))
    }
}

fn read_public_key(path: &Path) -> Result<(DecodingKey, Algorithm), AuthConfigError> {
    let file = path.display().to_string();
    let pem = std::fs::read(path).map_err(|e| AuthConfigError::Key {
        file: file.clone(),
        problem: format!("cannot read: {e}"),
    })?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((key, Algorithm::ES256));
    }
    Err(AuthConfigError::Key {
        file,
        problem: "not an RSA or EC (P-256) public key in PEM format".into(),
    })
}

/// Builds the claims of a token valid for `ttl_secs` from now.
pub fn claims(
    tenant: &str,
    sub: &str,
    client_id: Option<String>,
    ttl_secs: i64,
    scope: Option<String>,
    roles: Vec<String>,
) -> TokenClaims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    TokenClaims {
        sub: sub.to_owned(),
        tenant_id: tenant.to_owned(),
        exp: now.saturating_add(ttl_secs),
        iat: now,
        client_id,
        roles,
        scope,
        iss: None,
        aud: None,
    }
}
