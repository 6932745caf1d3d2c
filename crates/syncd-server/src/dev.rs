//! Development conveniences: a secret generated once into `.syncd-dev-secret`, and a ready
//! token printed at start. Production refuses to start without an explicit key.

use std::path::{Path, PathBuf};

use crate::auth::{self, Authenticator};
use crate::config::{Environment, Secret, Settings, SettingsError};

/// The development secret file, in the working directory.
pub const DEV_SECRET_FILE: &str = ".syncd-dev-secret";

/// Makes sure a key is configured. In development without one, reads the secret from
/// `.syncd-dev-secret` (creating it the first time) and returns the file's path.
pub fn ensure_secret(settings: &mut Settings) -> Result<Option<PathBuf>, SettingsError> {
    let configured =
        settings.auth.jwt_secret.is_some() || settings.auth.jwt_public_key_file.is_some();
    if configured {
        return Ok(None);
    }
    if settings.env == Environment::Production {
        return Err(SettingsError::Invalid(
            "SYNCD_ENV=production: refusing to start without auth.jwt_secret (SYNCD_JWT_SECRET) or auth.jwt_public_key_file".into(),
        ));
    }
    let path = PathBuf::from(DEV_SECRET_FILE);
    let secret = read_or_create(&path)?;
    settings.auth.jwt_secret = Some(Secret::new(secret));
    Ok(Some(path))
}

fn read_or_create(path: &Path) -> Result<String, SettingsError> {
    let read_error = |source| SettingsError::Read {
        file: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(read_error(e)),
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(path, &format!("{secret}\n")).map_err(read_error)?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// The start banner of a development server: a bearer token and a first request.
pub fn banner(settings: &Settings, port: u16) -> Option<String> {
    let auth = Authenticator::new(&settings.auth, None).ok()?;
    let token = auth
        .issue(auth::claims(
            "dev",
            "developer",
            Some("dev-cli".into()),
            24 * 3600,
            None,
            vec!["admin".into()],
        ))
        .ok()?;
    let host = settings
        .server
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    let host = if host == "0.0.0.0" { "127.0.0.1" } else { host };
    Some(format!(
        "\nsyncd is listening on http://{host}:{port} (development mode)\n\
         A bearer token for tenant `dev`, valid 24 h:\n\n  export TOKEN={token}\n\n\
         Try it:\n\n  curl -s -X POST http://{host}:{port}/api/client/sync/push \\\n    -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n    -d '{{\"table\":\"end_user\",\"operation\":\"create\",\"data\":{{\"name\":\"John Doe\",\"email\":\"john@example.com\"}}}}'\n\n  curl -s -X POST http://{host}:{port}/api/client/sync/pull \\\n    -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{}}'\n"
    ))
}
