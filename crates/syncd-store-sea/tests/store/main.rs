//! The SeaORM store on SQLite always (a fresh temporary file per test) and on PostgreSQL when
//! `SYNCD_TEST_DATABASE_URL` names an admin connection (a fresh database per test, dropped at
//! the end): the generic contract suite of `syncd-store-contract`, then what only this store
//! has (several instances on one database, statement counts, migrations, pools, URLs, planner
//! statistics).

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// One test per backend (`sqlite::<case>`, `postgres::<case>`) for cases of this crate:
/// `plain` ones take the store, `with_url` ones also its database URL (to open a second
/// instance on it, or to read its TLS mode).
macro_rules! on_both_backends {
    (plain: [$($case:ident),* $(,)?], with_url: [$($url_case:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_sqlite(|store, _| super::$case(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_case() {
                    crate::harness::on_sqlite(super::$url_case).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::harness::on_postgres(|store, _| super::$case(store)).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_case() {
                    crate::harness::on_postgres(super::$url_case).await;
                }
            )*
        }
    };
}

mod contract;
mod harness;
mod instances;
mod lifecycle;
mod planner;
mod statements;
