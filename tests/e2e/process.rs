//! The `syncd` binary as ops run it (SPEC §8 guarantees 1 and 9, §9): durability across
//! `kill -9`, graceful shutdown on SIGTERM, the first start without configuration, production
//! refusing to start without a key, and the `token`, `check-config` and `migrate` subcommands.

use std::time::Duration;

use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use syncd_e2e::process::*;
use syncd_e2e::*;
use syncd_store::Store;
use syncd_store_sea::{SeaStore, StoreOptions};
use uuid::Uuid;

const ENTITIES: &str = EXAMPLE_ENTITIES;
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn random_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// A token of app `client` of `tenant`, signed with `secret`.
fn app_token(secret: &str, tenant: &str, client: &str) -> String {
    let mut c = claims(tenant, &format!("user-{client}"));
    c["client_id"] = json!(client);
    sign_hs256(&c, secret.as_bytes())
}

/// Verifies an HS256 token with `secret` and returns its claims.
fn verify(token: &str, secret: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .unwrap_or_else(|e| panic!("{token:?} is not signed with the expected secret: {e}"))
    .claims
}

fn push_of(names: &[String]) -> Value {
    let users: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    json!({ "changes": { "end_user": users } })
}

e2e! {
    /// Guarantee 1: every push answered 200 is on disk, whatever happens to the process next.
    async fn a_push_answered_200_survives_kill_9_of_the_server(backend) {
        let db = Database::create(backend).await;
        let dir = WorkDir::new();
        let secret = random_secret();
        let spec = ServerSpec::with_database(dir.path(), db.url(), &secret);
        let server = spec.start().await;
        let t = tenant();

        // Four apps push concurrently; every push is acknowledged before the kill.
        let mut tasks = Vec::new();
        for app in 0..4 {
            let client = server.client(&app_token(&secret, &t, &format!("app-{app}")));
            tasks.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for push in 0..15 {
                    let names: Vec<String> =
                        (0..4).map(|i| format!("app{app}-push{push}-user{i}")).collect();
                    let res = client.push_ok(&push_of(&names)).await;
                    assert_eq!(res["results"].as_array().map(Vec::len), Some(4), "{res}");
                    acknowledged.extend(names);
                }
                acknowledged
            }));
        }
        let mut acknowledged = Vec::new();
        for task in tasks {
            acknowledged.extend(task.await.expect("a pushing task panicked"));
        }
        // An update and a delete, acknowledged just before the kill, must survive too.
        let app0 = server.client(&app_token(&secret, &t, "app-0"));
        let victim = app0.create_record("end_user", json!({ "name": "to delete" })).await;
        let edited = app0.create_record("end_user", json!({ "name": "before" })).await;
        app0.push_ok(&json!({ "changes": [
            { "entityType": "end_user", "op": "delete", "id": victim["id"], "baseVersion": 1 },
            { "entityType": "end_user", "op": "upsert", "id": edited["id"], "baseVersion": 1,
              "data": { "name": "after" } }
        ] }))
        .await;
        server.kill9().await;

        let server = spec.start().await;
        let reader = server.client(&app_token(&secret, &t, "reader"));
        let (records, _) = reader.pull_all(None, 1000).await;
        let mut names: Vec<String> = records
            .iter()
            .filter(|r| r["deleted"] != json!(true))
            .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        let mut expected = acknowledged.clone();
        expected.push("after".into());
        expected.sort();
        assert_eq!(names.len(), 4 * 15 * 4 + 1, "records lost or duplicated after kill -9");
        assert_eq!(names, expected);
        let gone = records
            .iter()
            .find(|r| r["id"] == victim["id"])
            .unwrap_or_else(|| panic!("the tombstone was lost: {records:?}"));
        assert_eq!(gone["deleted"], json!(true), "{gone}");
        assert_eq!(gone["is_deleted"], json!(1), "{gone}");
    }
}

/// Reads WebSocket messages until a close frame arrives; returns its code.
async fn close_code<S>(ws: &mut S, within: Duration) -> Option<u16>
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("no close frame within {within:?}"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_websockets_with_1001_and_exits_with_status_0() {
    use tokio_tungstenite::tungstenite::Message;
    let dir = WorkDir::new();
    let secret = random_secret();
    let spec = ServerSpec::with_database(dir.path(), &dir.sqlite_url("syncd.db"), &secret);
    let mut server = spec.start().await;
    let token = app_token(&secret, &tenant(), "listener");
    let url = format!(
        "ws://127.0.0.1:{}/api/client/sync/ws?token={token}",
        server.port
    );
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url.as_str()),
    )
    .await
    .expect("the WebSocket upgrade timed out")
    .expect("the WebSocket upgrade failed");
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("no first message within 10 s");
    let Some(Ok(Message::Text(first))) = first else {
        panic!("expected `authenticated`, got {first:?}");
    };
    let first: Value = serde_json::from_str(first.as_str()).expect("a JSON message");
    assert_eq!(first["type"], json!("authenticated"), "{first}");

    server.process().signal("TERM");
    let code = close_code(&mut ws, Duration::from_secs(20)).await;
    assert_eq!(
        code,
        Some(1001),
        "the WebSocket must be closed with 1001 on SIGTERM\n{}",
        server.output()
    );
    let status = server
        .process()
        .wait_exit(Duration::from_secs(45))
        .await
        .unwrap_or_else(|| panic!("the server did not exit within 45 s of SIGTERM"));
    assert!(
        status.success() && status.code() == Some(0),
        "exit status after SIGTERM: {status}\n{}",
        server.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_push_finish_before_exiting() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = WorkDir::new();
    let secret = random_secret();
    let spec = ServerSpec::with_database(dir.path(), &dir.sqlite_url("syncd.db"), &secret);
    let mut server = spec.start().await;
    let t = tenant();
    let token = app_token(&secret, &t, "app-1");
    let names: Vec<String> = (0..50).map(|i| format!("in flight {i}")).collect();
    let body = push_of(&names).to_string();
    let (head, tail) = body.split_at(body.len() / 2);

    // The request is on the wire (headers and half the body) when the signal arrives.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect to the server");
    let request = format!(
        "POST /api/client/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the first half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.process().signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(tail.as_bytes())
        .await
        .expect("send the second half");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("no response within 30 s")
        .expect("read the response");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the in-flight push was not finished: {response}\n{}",
        server.output()
    );
    let status = server
        .process()
        .wait_exit(Duration::from_secs(45))
        .await
        .unwrap_or_else(|| panic!("the server did not exit within 45 s of SIGTERM"));
    assert_eq!(status.code(), Some(0), "{}", server.output());
    drop(server);

    let server = spec.start().await;
    let (records, _) = server.client(&token).pull_all(None, 1000).await;
    assert_eq!(
        records.len(),
        names.len(),
        "the acknowledged push is durable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_server_with_status_0() {
    let dir = WorkDir::new();
    let secret = random_secret();
    let spec = ServerSpec::with_database(dir.path(), &dir.sqlite_url("syncd.db"), &secret);
    let mut server = spec.start().await;
    server.process().signal("INT");
    let status = server
        .process()
        .wait_exit(Duration::from_secs(45))
        .await
        .unwrap_or_else(|| panic!("the server did not exit within 45 s of SIGINT"));
    assert_eq!(status.code(), Some(0), "{}", server.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_without_configuration_creates_a_dev_secret_and_prints_a_working_token() {
    let dir = WorkDir::new();
    // Nothing but a port: no file, no database URL, no secret.
    let spec = ServerSpec::new(dir.path(), &[]);
    let mut server = spec.start().await;
    assert!(
        server
            .process()
            .wait_for_stdout(|out| banner_token(out).is_some(), Duration::from_secs(10))
            .await,
        "no `export TOKEN=…` line in the start banner\n{}",
        server.output()
    );
    let token = banner_token(&server.process().stdout()).unwrap_or_default();

    let secret_file = dir.join(".syncd-dev-secret");
    let contents = std::fs::read_to_string(&secret_file).unwrap_or_else(|e| {
        panic!(
            "{} was not created: {e}\n{}",
            secret_file.display(),
            server.output()
        )
    });
    assert_eq!(
        contents.lines().count(),
        1,
        "the secret file is one line: {contents:?}"
    );
    let secret = contents.trim();
    assert!(secret.len() >= 32, "a weak development secret: {secret:?}");
    assert!(!secret.contains(char::is_whitespace), "{secret:?}");
    // The printed token is signed with the secret in the file.
    let token_claims = verify(&token, secret);
    assert!(token_claims["tenant_id"].is_string(), "{token_claims}");
    assert!(
        dir.join("syncd.db").is_file(),
        "the default database sqlite://syncd.db was not created in the working directory"
    );
    let banner = server.process().stdout();
    assert!(
        banner.contains("curl") && banner.contains("/api/client/sync/push"),
        "the banner has no curl example: {banner}"
    );

    let res = server
        .client(&token)
        .push_ok(&json!({ "table": "end_user", "operation": "create",
                          "data": { "name": "John Doe", "email": "john@example.com" } }))
        .await;
    assert_eq!(res["results"][0]["status"], json!("created"), "{res}");

    // A second start reuses the secret: the token printed the first time still works.
    server.process().signal("TERM");
    server.process().wait_exit(Duration::from_secs(45)).await;
    drop(server);
    let server = spec.start().await;
    assert_eq!(
        std::fs::read_to_string(&secret_file).unwrap_or_default(),
        contents,
        "the development secret changed on restart"
    );
    let page = server.client(&token).pull_ok(&json!({})).await;
    assert_eq!(
        records_of(&page, "end_user").len(),
        1,
        "the first start's data and token survive a restart: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_without_a_secret_refuses_to_start() {
    let dir = WorkDir::new();
    let url = dir.sqlite_url("syncd.db");
    let bind = format!("127.0.0.1:{}", free_port());
    let env = [
        ("SYNCD_ENV", "production"),
        ("SYNCD_DATABASE_URL", url.as_str()),
        ("SYNCD_BIND", bind.as_str()),
    ];
    for args in [&[][..], &["serve"][..]] {
        let finished = syncd(dir.path())
            .args(args)
            .envs(env)
            .run(RUN_TIMEOUT)
            .await;
        assert!(
            !finished.status.success(),
            "`syncd {args:?}` started in production without a secret: {finished:?}"
        );
        let message = finished.stderr.to_lowercase();
        assert!(
            message.contains("secret") || message.contains("key"),
            "the refusal does not say what is missing: {finished:?}"
        );
        assert!(
            !dir.join(".syncd-dev-secret").exists(),
            "production must not fall back to a development secret"
        );
    }
    let finished = syncd(dir.path())
        .args(["token", "--tenant", "t", "--sub", "s"])
        .envs(env)
        .run(RUN_TIMEOUT)
        .await;
    assert!(
        !finished.status.success() && finished.stdout.trim().is_empty(),
        "`syncd token` in production without a secret must fail: {finished:?}"
    );

    // With a secret, production starts, and prints no ready-made token.
    let secret = random_secret();
    let spec = ServerSpec::new(
        dir.path(),
        &[
            ("SYNCD_ENV", "production"),
            ("SYNCD_DATABASE_URL", url.as_str()),
            ("SYNCD_JWT_SECRET", secret.as_str()),
        ],
    );
    let server = spec.start().await;
    assert!(
        banner_token(&server.output()).is_none(),
        "a production server printed a bearer token\n{}",
        server.output()
    );
    let res = server
        .client(&app_token(&secret, &tenant(), "app-1"))
        .push_ok(&json!({ "changes": { "end_user": [ { "name": "prod" } ] } }))
        .await;
    assert_eq!(res["results"][0]["status"], json!("created"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_subcommand_prints_only_a_jwt_that_the_server_accepts() {
    let dir = WorkDir::new();
    let secret = random_secret();
    let t = tenant();
    let finished = syncd(dir.path())
        .args([
            "token",
            "--tenant",
            &t,
            "--sub",
            "ops-user",
            "--client-id",
            "ops-cli",
            "--ttl",
            "1h",
            "--scope",
            "sync:read",
            "--role",
            "admin",
        ])
        .env("SYNCD_JWT_SECRET", &secret)
        .run(RUN_TIMEOUT)
        .await;
    assert!(finished.status.success(), "{finished:?}");
    let token = finished.stdout.trim_end_matches('\n');
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "stdout must be the JWT alone: {:?}",
        finished.stdout
    );
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token:?}");
    let c = verify(token, &secret);
    assert_eq!(c["tenant_id"], json!(t), "{c}");
    assert_eq!(c["sub"], json!("ops-user"), "{c}");
    assert_eq!(c["client_id"], json!("ops-cli"), "{c}");
    assert_eq!(c["scope"], json!("sync:read"), "{c}");
    assert_eq!(c["roles"], json!(["admin"]), "{c}");
    let ttl = c["exp"].as_i64().unwrap_or_default() - now();
    assert!(
        (3500..=3700).contains(&ttl),
        "--ttl 1h gave exp in {ttl} s: {c}"
    );
    assert!(
        !dir.join(".syncd-dev-secret").exists(),
        "a secret was configured"
    );

    // A server with the same secret accepts it, and honours its scope.
    let spec = ServerSpec::with_database(dir.path(), &dir.sqlite_url("syncd.db"), &secret);
    let server = spec.start().await;
    let writer = server.client(&app_token(&secret, &t, "writer"));
    let written = writer
        .create_record("end_user", json!({ "name": "seen by ops" }))
        .await;
    let ops = server.client(token);
    let page = ops.pull_ok(&json!({ "entityTypes": ["end_user"] })).await;
    assert_eq!(
        ids(records_of(&page, "end_user")),
        ids(&[written]),
        "{page}"
    );
    let response = ops
        .push(&json!({ "changes": { "end_user": [ { "name": "no" } ] } }))
        .await;
    assert_error(&response, StatusCode::FORBIDDEN, "forbidden");

    // A token printed with another secret is refused.
    let other = syncd(dir.path())
        .args(["token", "--tenant", &t, "--sub", "intruder"])
        .env("SYNCD_JWT_SECRET", random_secret())
        .run(RUN_TIMEOUT)
        .await;
    assert!(other.status.success(), "{other:?}");
    let response = server.client(other.stdout.trim()).pull(&json!({})).await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_is_accepted_before_and_after_the_subcommand() {
    let dir = WorkDir::new();
    let file_secret = random_secret();
    let config = dir.write(
        "syncd.toml",
        &format!(
            "[auth]\njwt_secret = \"{file_secret}\"\n[sync]\nentities_file = \"{ENTITIES}\"\n"
        ),
    );
    let config = config.display().to_string();
    let token_args = ["token", "--tenant", "acme", "--sub", "someone"];

    let before = syncd(dir.path())
        .args(["--config", &config])
        .args(token_args)
        .run(RUN_TIMEOUT)
        .await;
    let after = syncd(dir.path())
        .args(token_args)
        .args(["--config", &config])
        .run(RUN_TIMEOUT)
        .await;
    let by_env = syncd(dir.path())
        .args(token_args)
        .env("SYNCD_CONFIG", &config)
        .run(RUN_TIMEOUT)
        .await;
    for finished in [&before, &after, &by_env] {
        assert!(finished.status.success(), "{finished:?}");
        assert_eq!(
            verify(finished.stdout.trim(), &file_secret)["tenant_id"],
            json!("acme")
        );
    }
    // The environment overrides the file.
    let env_secret = random_secret();
    let overridden = syncd(dir.path())
        .args(["--config", &config])
        .args(token_args)
        .env("SYNCD_JWT_SECRET", &env_secret)
        .run(RUN_TIMEOUT)
        .await;
    assert!(overridden.status.success(), "{overridden:?}");
    verify(overridden.stdout.trim(), &env_secret);

    for args in [
        ["--config", config.as_str(), "check-config"],
        ["check-config", "--config", config.as_str()],
    ] {
        let finished = syncd(dir.path()).args(args).run(RUN_TIMEOUT).await;
        assert!(finished.status.success(), "syncd {args:?}: {finished:?}");
    }
    // A config file that does not exist is an error naming it, before or after.
    for args in [
        ["--config", "missing.toml", "check-config"],
        ["check-config", "--config", "missing.toml"],
    ] {
        let finished = syncd(dir.path()).args(args).run(RUN_TIMEOUT).await;
        assert!(!finished.status.success(), "syncd {args:?}: {finished:?}");
        assert!(finished.stderr.contains("missing.toml"), "{finished:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_accepts_a_good_configuration_and_entities_file() {
    let dir = WorkDir::new();
    dir.write(
        "syncd.toml",
        &format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"{}\"\n[auth]\njwt_secret = \"s3cret-s3cret-s3cret-s3cret\"\n\
             [sync]\ndefault_strategy = \"field-merge\"\nentities_file = \"{ENTITIES}\"\n\
             [sync.strategies]\ninteractions = \"server-wins\"\nclients = \"manual\"\n",
            dir.sqlite_url("never-opened.db")
        ),
    );
    let finished = syncd(dir.path())
        .args(["--config", "syncd.toml", "check-config"])
        .run(RUN_TIMEOUT)
        .await;
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        !dir.join("never-opened.db").exists(),
        "check-config must not open (create) the database"
    );
    // The same through the environment only.
    let finished = syncd(dir.path())
        .arg("check-config")
        .env("SYNCD_ENTITIES_FILE", ENTITIES)
        .run(RUN_TIMEOUT)
        .await;
    assert!(finished.status.success(), "{finished:?}");
}

/// A broken entities file, and the line its problem is on.
const BROKEN_ENTITIES: &[(&str, &str, usize)] = &[
    (
        "an unknown field type",
        "[[entity]]\nname = \"things\"\n[entity.fields]\nlabel = { type = \"string\" }\ncount = { type = \"integr\" }\n",
        5,
    ),
    (
        "a reference to an unregistered type",
        "[[entity]]\nname = \"things\"\n[entity.fields]\nlabel = { type = \"string\" }\n\nowner = { type = \"uuid\", references = \"nobody\" }\n",
        6,
    ),
    (
        "a TOML syntax error",
        "[[entity]]\nname = \"things\"\n[entity.fields]\nlabel = { type = \"string\" \n",
        4,
    ),
    (
        "a search field that is not declared",
        "[[entity]]\nname = \"things\"\nsearch = [\"nope\"]\n[entity.fields]\nlabel = { type = \"string\" }\n",
        3,
    ),
    (
        "a second declaration of a built-in type",
        "# extra types\n\n[[entity]]\nname = \"end_user\"\n[entity.fields]\nlabel = { type = \"string\" }\n",
        3,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_reports_the_file_and_line_of_a_broken_entities_file() {
    for (problem, text, line) in BROKEN_ENTITIES {
        let dir = WorkDir::new();
        dir.write("entities.toml", text);
        dir.write(
            "syncd.toml",
            "[auth]\njwt_secret = \"x-x-x-x-x-x-x-x\"\n[sync]\nentities_file = \"entities.toml\"\n",
        );
        let finished = syncd(dir.path())
            .args(["check-config", "--config", "syncd.toml"])
            .run(RUN_TIMEOUT)
            .await;
        assert!(
            !finished.status.success(),
            "{problem}: check-config accepted a broken entities file: {finished:?}"
        );
        let expected = format!("entities.toml:{line}: ");
        assert!(
            finished.stderr.contains(&expected),
            "{problem}: stderr should contain `{expected}problem`: {:?}",
            finished.stderr
        );
    }

    // `serve` stops at start with the same message.
    let (problem, text, line) = BROKEN_ENTITIES[0];
    let dir = WorkDir::new();
    dir.write("entities.toml", text);
    let url = dir.sqlite_url("syncd.db");
    let bind = format!("127.0.0.1:{}", free_port());
    let finished = syncd(dir.path())
        .arg("serve")
        .env("SYNCD_ENTITIES_FILE", "entities.toml")
        .env("SYNCD_JWT_SECRET", random_secret())
        .env("SYNCD_DATABASE_URL", &url)
        .env("SYNCD_BIND", &bind)
        .run(RUN_TIMEOUT)
        .await;
    assert!(
        !finished.status.success(),
        "{problem}: serve started: {finished:?}"
    );
    assert!(
        finished.stderr.contains(&format!("entities.toml:{line}: ")),
        "{problem}: {:?}",
        finished.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_reports_the_file_and_line_of_a_broken_config_file() {
    let dir = WorkDir::new();
    dir.write(
        "syncd.toml",
        "[server]\nbind = \"127.0.0.1:0\"\n\n[limits]\nburst = \"lots\"\n",
    );
    dir.write(
        "typo.toml",
        "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurll = \"sqlite://x.db\"\n",
    );
    for (file, line) in [("syncd.toml", 5), ("typo.toml", 4)] {
        let finished = syncd(dir.path())
            .args(["--config", file, "check-config"])
            .run(RUN_TIMEOUT)
            .await;
        assert!(!finished.status.success(), "{file}: {finished:?}");
        let expected = format!("{file}:{line}: ");
        assert!(
            finished.stderr.contains(&expected),
            "stderr should contain `{expected}problem`: {:?}",
            finished.stderr
        );
    }
}

e2e! {
    async fn migrate_creates_the_tables_and_a_following_serve_works(backend) {
        let db = Database::create(backend).await;
        let dir = WorkDir::new();
        let probe = syncd_model::TenantId::parse("probe").expect("a tenant id");

        let finished = syncd(dir.path())
            .arg("migrate")
            .env("SYNCD_DATABASE_URL", db.url())
            .run(RUN_TIMEOUT)
            .await;
        assert!(finished.status.success(), "{finished:?}");
        // Twice is fine.
        let again = syncd(dir.path())
            .arg("migrate")
            .env("SYNCD_DATABASE_URL", db.url())
            .run(RUN_TIMEOUT)
            .await;
        assert!(again.status.success(), "{again:?}");

        let store = SeaStore::connect(db.url(), StoreOptions { max_connections: 1, ..StoreOptions::default() })
            .await
            .expect("the migrated database opens");
        store.head(&probe).await.expect("the tables exist after `syncd migrate`");
        let _ = store.close().await;

        let secret = random_secret();
        let server = ServerSpec::with_database(dir.path(), db.url(), &secret).start().await;
        let client = server.client(&app_token(&secret, &tenant(), "app-1"));
        let created = client.create_record("end_user", json!({ "name": "after migrate" })).await;
        let page = client.pull_ok(&json!({})).await;
        assert_eq!(ids(records_of(&page, "end_user")), ids(&[created]), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmigrated_sqlite_file_has_no_tables() {
    // The control for the test above: the probe fails on a database `migrate` never touched.
    let dir = WorkDir::new();
    let store = SeaStore::connect(
        &dir.sqlite_url("empty.db"),
        StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        },
    )
    .await
    .expect("an empty SQLite file opens");
    let probe = syncd_model::TenantId::parse("probe").expect("a tenant id");
    assert!(
        store.head(&probe).await.is_err(),
        "the probe must fail without tables"
    );
    let _ = store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_on_writes_and_reads_and_recovers_without_restart() {
    if !Backend::Postgres.is_available() {
        report_skip(concat!(
            module_path!(),
            "::a_database_outage_is_503_on_writes_and_reads_and_recovers_without_restart"
        ));
        return;
    }
    let db = Database::create(Backend::Postgres).await;
    let dir = WorkDir::new();
    let secret = random_secret();
    let server = ServerSpec::with_database(dir.path(), db.url(), &secret)
        .start()
        .await;
    let t = tenant();
    let app1 = server.client(&app_token(&secret, &t, "app-1"));
    let before = app1
        .create_record("end_user", json!({ "name": "before the outage" }))
        .await;
    let id = before["id"].as_str().unwrap_or_default().to_owned();

    db.set_reachable(false).await;

    let lost_push = json!({ "changes": { "end_user": [ { "name": "during the outage" } ] } });
    // The first request may meet a pooled connection that was just terminated; every request
    // must still be a 503, never a 500 or a hang.
    for round in 0..3 {
        let response = app1.push_raw(Some("retry-me"), &lost_push).await;
        assert_error(
            &response.pair(),
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
        );
        let response = app1.pull(&json!({})).await;
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        let response = app1.pull_pending(&json!({})).await;
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        let response = app1.get(&format!("/api/end_user/{id}")).await;
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        let response = app1.get("/api/end_user").await;
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        let response = app1
            .post(
                "/api/end_user",
                &json!({ "name": "crud during the outage" }),
            )
            .await;
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        let ready = server
            .anonymous()
            .send(Method::GET, "/readyz", &[], None)
            .await;
        assert_eq!(
            ready.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "round {round}: {ready:?}"
        );
        let health = server
            .anonymous()
            .send(Method::GET, "/healthz", &[], None)
            .await;
        assert_eq!(
            health.status,
            StatusCode::OK,
            "the process is still up: {health:?}"
        );
    }

    db.set_reachable(true).await;

    // Recovery without a restart: poll a bounded number of times.
    let mut recovered = None;
    for _ in 0..60 {
        let response = app1.push_raw(Some("retry-me"), &lost_push).await;
        if response.status == StatusCode::OK {
            recovered = Some(response.json());
            break;
        }
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "while recovering: {}",
            response.text
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let recovered = recovered.unwrap_or_else(|| {
        panic!(
            "the server did not recover within 30 s\n{}",
            server.output()
        )
    });
    assert_eq!(
        recovered["results"][0]["status"],
        json!("created"),
        "{recovered}"
    );
    // The retried key applies once.
    let replay = app1.push_raw(Some("retry-me"), &lost_push).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);

    let ready = server
        .anonymous()
        .send(Method::GET, "/readyz", &[], None)
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{ready:?}");
    let (records, _) = app1.pull_all(None, 100).await;
    let mut names: Vec<&str> = records.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec!["before the outage", "during the outage"],
        "nothing refused with 503 was applied, the retried push applied once"
    );
}
