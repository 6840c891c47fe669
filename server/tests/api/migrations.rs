use aerie_backend::config::DbKind;
use aerie_backend::db;
use aerie_backend::testing::TestDb;
use rstest::rstest;
use sea_orm_migration::SchemaManager;

const TABLES: &[&str] = &[
    "organizations",
    "users",
    "memberships",
    "groups",
    "group_members",
    "identities",
    "api_keys",
    "refresh_tokens",
    "audit_events",
    "jobs",
    "knowledge_bases",
    "knowledge_categories",
    "documents",
    "routes",
    "runs",
    "run_transitions",
];

#[rstest]
#[case::sqlite(DbKind::Sqlite)]
#[case::postgres(DbKind::Postgres)]
#[tokio::test]
async fn migrations_create_the_identity_core_and_are_idempotent(#[case] kind: DbKind) {
    let test_db = TestDb::new(kind).await.expect("db");
    let conn = db::connect(&test_db.config()).await.expect("connect");
    assert_eq!(db::pending(&conn).await.expect("pending"), db::known());

    let applied = db::migrate(&conn).await.expect("migrate");
    assert_eq!(applied, db::known().len());
    assert!(db::pending(&conn).await.expect("pending").is_empty());
    assert_eq!(
        db::migrate(&conn).await.expect("second run"),
        0,
        "nothing to do twice"
    );

    let manager = SchemaManager::new(&conn);
    for table in TABLES {
        assert!(
            manager.has_table(*table).await.expect("introspect"),
            "{table} missing on {kind:?}"
        );
    }
    for (table, index) in [
        ("memberships", "memberships_org_user_key"),
        ("knowledge_bases", "knowledge_bases_org_slug_key"),
        ("knowledge_bases", "knowledge_bases_public_slug_key"),
        ("knowledge_categories", "knowledge_categories_kb_slug_key"),
        ("routes", "routes_org_name_key"),
    ] {
        assert!(
            manager.has_index(table, index).await.expect("index"),
            "{table}.{index} missing on {kind:?}"
        );
    }
    assert!(
        manager
            .has_column("api_keys", "secret_hash")
            .await
            .expect("column")
    );
    conn.close().await.expect("close");
}
