//! WebSocket limits (SPEC §6, §7): oversize frames close with 1009, connections beyond the
//! per-client or per-tenant limit close with 1013.

use serde_json::json;
use syncd_e2e::ws::*;
use syncd_e2e::*;

e2e! {
    async fn a_frame_larger_than_the_limit_closes_the_connection_with_1009(backend) {
        let app = WsApp::spawn(backend, |s| s.limits.ws_frame_bytes = 1024).await;
        let t = tenant();
        let mut ws = app.connect(&t, "app-1").await;
        let mut bystander = app.connect(&t, "app-2").await;

        // Under the limit: answered.
        ws.send_json(&json!({ "type": "heartbeat", "pad": "x".repeat(900) })).await;
        ws.recv_type("heartbeat_response").await;

        ws.send_json(&json!({ "type": "heartbeat", "pad": "x".repeat(2000) })).await;
        let (close, before) = ws.expect_close().await;
        assert_eq!(close.code, 1009, "{close:?} after {before:?}");
        assert!(
            before.iter().all(|m| m["type"] != json!("heartbeat_response")),
            "the oversize message was not processed: {before:?}"
        );

        // Before authentication too.
        let mut anon = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "anon").await.unwrap();
        anon.send_json(&json!({ "type": "authenticate", "token": app.token(&t, "app-3"),
                                "pad": "x".repeat(2000) }))
            .await;
        let (close, before) = anon.expect_close().await;
        assert_eq!(close.code, 1009, "{close:?} after {before:?}");
        assert!(before.iter().all(|m| m["type"] != json!("authenticated")), "{before:?}");

        // The other connection is untouched.
        bystander.heartbeat().await;
        assert_eq!(app.state().hub.stats().connections, 1);
    }
}

e2e! {
    async fn connections_beyond_the_per_client_limit_are_closed_with_1013(backend) {
        let app = WsApp::spawn(backend, |s| s.limits.ws_connections_per_client = 2).await;
        let t = tenant();
        let first = app.connect(&t, "app-1").await;
        let mut second = app.connect(&t, "app-1").await;

        let token = app.token(&t, "app-1");
        let mut third = WsClient::connect(&app.ws_url(WS_PATH), Auth::Header(&token), "third")
            .await
            .unwrap();
        let (close, before) = third.expect_close().await;
        assert_eq!(close.code, 1013, "{close:?} after {before:?}");
        assert!(
            before.iter().all(|m| m["type"] != json!("authenticated")),
            "refused connections are not authenticated: {before:?}"
        );
        // Through `authenticate` as well.
        let mut fourth = WsClient::connect(&app.ws_url(WS_PATH), Auth::None, "fourth").await.unwrap();
        fourth.authenticate(&token).await;
        let (close, before) = fourth.expect_close().await;
        assert_eq!(close.code, 1013, "{close:?} after {before:?}");

        // Other clients of the tenant are not affected.
        let mut other = app.connect(&t, "app-2").await;
        other.heartbeat().await;
        second.heartbeat().await;
        assert_eq!(app.state().hub.stats().connections, 3);

        // A freed slot can be taken again.
        first.close().await;
        let mut again = app.connect(&t, "app-1").await;
        again.heartbeat().await;
    }
}

e2e! {
    async fn connections_beyond_the_per_tenant_limit_are_closed_with_1013(backend) {
        let app = WsApp::spawn(backend, |s| s.limits.ws_connections_per_tenant = 3).await;
        let t = tenant();
        let a = app.connect(&t, "app-a").await;
        let _b = app.connect(&t, "app-b").await;
        let _c = app.connect(&t, "app-c").await;

        for client in ["app-d", "app-a"] {
            let token = app.token(&t, client);
            let mut over = WsClient::connect(&app.ws_url(WS_PATH), Auth::Query(&token), client)
                .await
                .unwrap();
            let (close, before) = over.expect_close().await;
            assert_eq!(close.code, 1013, "{client}: {close:?} after {before:?}");
        }

        // Another tenant has its own allowance.
        let other = tenant();
        let mut others = Vec::new();
        for client in ["app-a", "app-b", "app-c"] {
            others.push(app.connect(&other, client).await);
        }
        for ws in &mut others {
            ws.heartbeat().await;
        }
        assert_eq!(app.state().hub.stats().connections, 6);

        a.close().await;
        let mut d = app.connect(&t, "app-d").await;
        d.heartbeat().await;
    }
}
